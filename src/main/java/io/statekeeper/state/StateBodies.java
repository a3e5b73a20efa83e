package io.statekeeper.state;

import java.io.IOException;
import java.io.InputStream;
import java.util.function.Function;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.stereotype.Component;

import io.statekeeper.storage.ChecksummedBody;

/**
 * Reads request bodies for every endpoint that stores one (native and Terraform): within
 * {@code max-state-size}, at the pace {@link BodyPace} asks, and covered by a
 * {@link BodyMemory} reservation, held by the caller's token (or address) until the write
 * that uses the body is done.
 */
@Component
public class StateBodies {

	/** A chunked body is read, and its reservation grown, this much at a time. */
	private static final int CHUNKED_READ = 64 * 1024;

	private final StateService service;

	private final BodyMemory bodyMemory;

	private final BodyPace bodyPace;

	StateBodies(StateService service, BodyMemory bodyMemory, BodyPace bodyPace) {
		this.service = service;
		this.bodyMemory = bodyMemory;
		this.bodyPace = bodyPace;
	}

	/**
	 * Reads the request's body and hands it to {@code use} while its memory is reserved.
	 * @param request the request
	 * @param use what to do with the body (the write)
	 * @return what {@code use} returns
	 * @throws IOException if the body could not be read
	 * @throws StateProblemException 413 if it is too large, 503 if no memory is free, 408
	 * if it arrives too slowly
	 */
	public <T> T read(HttpServletRequest request, Function<ChecksummedBody, T> use) throws IOException {
		java.security.Principal principal = request.getUserPrincipal();
		try (BodyMemory.Reservation memory = this.bodyMemory
			.open((principal != null) ? principal.getName() : request.getRemoteAddr())) {
			return use.apply(readBody(request, this.bodyPace.watch(request.getInputStream()),
					this.service.maxStateSize(), memory));
		}
	}

	/**
	 * Reads the body, refusing it (413) as soon as it is known to exceed the limit: from
	 * {@code Content-Length} before reading, or while streaming a chunked body. With a
	 * declared length it goes straight into an array of that size (a large state is held
	 * once, not in chunks and again as their concatenation) and is checksummed as it
	 * arrives. Its size is reserved in {@code memory} before it is read, a chunked body's
	 * as it grows.
	 */
	private static ChecksummedBody readBody(HttpServletRequest request, InputStream in, long max,
			BodyMemory.Reservation memory) throws IOException {
		long declared = request.getContentLengthLong();
		if (declared > max) {
			throw tooLarge(declared, max);
		}
		if (declared >= 0) {
			memory.cover(declared);
			return ChecksummedBody.read(in, (int) declared);
		}
		// without a length: the reservation counts the bytes received, while the growing
		// buffer and its final copy hold up to twice that for a moment (CLIs send a
		// Content-Length; reserving double would refuse a chunked body of max-state-size
		// whenever max-body-memory is set to its minimum)
		java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
		byte[] chunk = new byte[CHUNKED_READ];
		for (int read = in.read(chunk); read >= 0; read = in.read(chunk)) {
			if (body.size() + (long) read > max) {
				throw tooLarge(body.size() + (long) read, max);
			}
			memory.cover(body.size() + (long) read);
			body.write(chunk, 0, read);
		}
		return ChecksummedBody.of(body.toByteArray());
	}

	private static StateProblemException tooLarge(long size, long max) {
		return new StateProblemException(StateProblem.TOO_LARGE,
				"The body is " + ((size > max) ? "over " + max : size) + " bytes; the maximum is " + max,
				java.util.Map.of("maxSize", max));
	}

}
