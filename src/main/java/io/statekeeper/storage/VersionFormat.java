package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.zip.CRC32C;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Encodes and verifies version files. The format, byte by byte:
 *
 * <pre>
 * {"format":1,"name":"prod","revision":42,"size":1234,"sha256":"…","updatedAt":"2026-…Z","crc32c":"1a2b3c4d"}\n
 * &lt;exactly size bytes: the state JSON as the client sent it&gt;
 * </pre>
 *
 * The header is one line of JSON (UTF-8, no newline inside) written by this class's own
 * mapper, so HTTP-facing Jackson settings can never change the file format. Its fields
 * are those of {@link VersionHeader} in that order, then {@code crc32c}: the CRC-32C of
 * the header line as it reads without that last field, so a flipped bit anywhere in the
 * header is caught, not only in the fields the body is checked against. A tombstone (a
 * deletion) carries {@code "deleted":true} and an empty body.
 * <p>
 * A file is valid only if the header parses, its CRC matches, the name (and, for a kept
 * version, the revision) match the file's place, the body is exactly {@code size} bytes
 * and its SHA-256 matches. Truncation, a bit flip or trailing bytes are all caught.
 */
final class VersionFormat {

	static final int FORMAT = 1;

	/** A header line is a few hundred bytes; anything longer is damage. */
	static final int MAX_HEADER_LENGTH = 4096;

	private static final int CHUNK = 64 * 1024;

	private static final byte[] CRC_FIELD = ",\"crc32c\":\"".getBytes(StandardCharsets.US_ASCII);

	/** {@code ,"crc32c":"} + 8 hex digits + {@code "}}. */
	private static final int CRC_SUFFIX_LENGTH = CRC_FIELD.length + 8 + 2;

	/**
	 * Fields a header does not know are ignored (DESIGN §14: within one format number, a
	 * reader accepts what a newer writer added); the header's CRC, checked before it is
	 * parsed, already tells damage from an addition.
	 */
	private static final JsonMapper MAPPER = JsonMapper.builder()
		.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
		.disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
		.build();

	private VersionFormat() {
	}

	/**
	 * The header line, newline included.
	 * @param header the header
	 * @return its bytes
	 */
	static byte[] encodeHeader(VersionHeader header) {
		byte[] json = MAPPER.writeValueAsBytes(header);
		int prefix = json.length - 1; // without the closing brace
		byte[] line = Arrays.copyOf(json, prefix + CRC_SUFFIX_LENGTH + 1);
		System.arraycopy(CRC_FIELD, 0, line, prefix, CRC_FIELD.length);
		byte[] crc = String.format("%08x", crc32c(json, json.length)).getBytes(StandardCharsets.US_ASCII);
		System.arraycopy(crc, 0, line, prefix + CRC_FIELD.length, 8);
		line[line.length - 3] = '"';
		line[line.length - 2] = '}';
		line[line.length - 1] = '\n';
		return line;
	}

	/**
	 * Parses and checks a header line (without its newline).
	 * @param file the file it came from, for messages
	 * @param line the buffer holding the line
	 * @param length the line's length
	 * @return the header
	 * @throws CorruptVersionException if it is not a valid header
	 */
	static VersionHeader decodeHeader(Path file, byte[] line, int length)
			throws CorruptVersionException, NewerFormatException {
		if (length < CRC_SUFFIX_LENGTH + 2) {
			throw new CorruptVersionException(file, "header too short");
		}
		int prefix = length - CRC_SUFFIX_LENGTH;
		if (!Arrays.equals(line, prefix, prefix + CRC_FIELD.length, CRC_FIELD, 0, CRC_FIELD.length)
				|| line[length - 2] != '"' || line[length - 1] != '}') {
			throw new CorruptVersionException(file, "header has no crc32c field");
		}
		byte[] json = Arrays.copyOf(line, prefix + 1);
		json[prefix] = '}';
		String stored = new String(line, prefix + CRC_FIELD.length, 8, StandardCharsets.US_ASCII);
		String actual = String.format("%08x", crc32c(json, json.length));
		if (!actual.equals(stored)) {
			throw new CorruptVersionException(file, "header crc32c mismatch");
		}
		// the CRC held: a format number above ours is a newer release's file, not damage
		VersionHeader header;
		try {
			header = MAPPER.readValue(json, VersionHeader.class);
		}
		catch (JacksonException ex) {
			int format = formatOf(json);
			if (format > FORMAT) {
				throw new NewerFormatException(file, format);
			}
			throw new CorruptVersionException(file, "header does not parse: " + ex.getOriginalMessage());
		}
		if (header.format() > FORMAT) {
			throw new NewerFormatException(file, header.format());
		}
		if (header.format() != FORMAT) {
			throw new CorruptVersionException(file, "unknown format " + header.format());
		}
		if (header.name() == null || header.sha256() == null || header.updatedAt() == null || header.size() < 0
				|| header.revision() < 1) {
			throw new CorruptVersionException(file, "header lacks a required field");
		}
		return header;
	}

	/**
	 * Reads a version file, verifying it completely.
	 * @param io the file-system seam
	 * @param file the file
	 * @param expectedName the state the file must belong to
	 * @param expectedRevision the revision it must carry, or 0 for any
	 * @param keepBody whether to return the body (verification streams it otherwise)
	 * @return the verified version; its body is {@code null} unless kept
	 * @throws CorruptVersionException if the file is damaged
	 * @throws IOException if it cannot be read
	 */
	static StoredVersion read(StorageIo io, Path file, String expectedName, long expectedRevision, boolean keepBody)
			throws CorruptVersionException, IOException {
		FileChannel channel = io.openRead(file);
		try {
			return read(io, channel, file, expectedName, expectedRevision, keepBody);
		}
		finally {
			io.close(channel);
		}
	}

	/**
	 * Reads and checks only a version file's header line (its body is not verified).
	 * @param io the file-system seam
	 * @param file the file
	 * @param expectedName the state the file must belong to
	 * @param expectedRevision the revision it must carry, or 0 for any
	 * @return the header
	 * @throws CorruptVersionException if the header is damaged
	 * @throws IOException if it cannot be read
	 */
	static VersionHeader readHeader(StorageIo io, Path file, String expectedName, long expectedRevision)
			throws CorruptVersionException, IOException {
		FileChannel channel = io.openRead(file);
		try {
			ByteBuffer buffer = ByteBuffer.allocate(MAX_HEADER_LENGTH);
			int newline = readHeaderLine(io, channel, file, buffer);
			return checkHeader(file, buffer, newline, expectedName, expectedRevision);
		}
		finally {
			io.close(channel);
		}
	}

	private static int readHeaderLine(StorageIo io, FileChannel channel, Path file, ByteBuffer buffer)
			throws CorruptVersionException, IOException {
		int newline = -1;
		while (newline < 0) {
			int scannedTo = buffer.position();
			if (!buffer.hasRemaining() || io.read(channel, buffer) < 0) {
				throw new CorruptVersionException(file, (buffer.position() == 0) ? "empty file" : "no header line");
			}
			newline = indexOf(buffer.array(), scannedTo, Math.min(buffer.position(), MAX_HEADER_LENGTH), (byte) '\n');
			if (newline < 0 && buffer.position() >= MAX_HEADER_LENGTH) {
				throw new CorruptVersionException(file, "no header line");
			}
		}
		return newline;
	}

	private static VersionHeader checkHeader(Path file, ByteBuffer buffer, int newline, String expectedName,
			long expectedRevision) throws CorruptVersionException, NewerFormatException {
		VersionHeader header = decodeHeader(file, buffer.array(), newline);
		if (!header.name().equals(expectedName)) {
			throw new CorruptVersionException(file, "belongs to state '" + header.name() + "'");
		}
		if (expectedRevision > 0 && header.revision() != expectedRevision) {
			throw new CorruptVersionException(file, "holds revision " + header.revision());
		}
		if (header.deleted() && header.size() != 0) {
			throw new CorruptVersionException(file, "tombstone with a body");
		}
		return header;
	}

	private static StoredVersion read(StorageIo io, FileChannel channel, Path file, String expectedName,
			long expectedRevision, boolean keepBody) throws CorruptVersionException, IOException {
		ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
		int newline = readHeaderLine(io, channel, file, buffer);
		VersionHeader header = checkHeader(file, buffer, newline, expectedName, expectedRevision);
		long available = channel.size() - newline - 1;
		if (available < header.size()) {
			throw new CorruptVersionException(file,
					"truncated: " + available + " of " + header.size() + " body bytes present");
		}
		if (available > header.size()) {
			throw new CorruptVersionException(file, (available - header.size()) + " trailing bytes after the body");
		}
		if (keepBody && header.size() > Integer.MAX_VALUE - 16) {
			throw new CorruptVersionException(file, "body too large to load");
		}
		MessageDigest digest = Sha256.digest();
		byte[] body = keepBody ? new byte[(int) header.size()] : null;
		long count = 0;
		int start = newline + 1;
		while (true) {
			int end = buffer.position();
			int take = (int) Math.min(end - start, header.size() - count);
			if (take < end - start) {
				throw new CorruptVersionException(file, "trailing bytes after the body");
			}
			digest.update(buffer.array(), start, take);
			if (body != null) {
				System.arraycopy(buffer.array(), start, body, (int) count, take);
			}
			count += take;
			buffer.clear();
			start = 0;
			if (io.read(channel, buffer) < 0) {
				break;
			}
		}
		if (count != header.size()) {
			throw new CorruptVersionException(file, "truncated: " + count + " of " + header.size() + " body bytes");
		}
		if (!Sha256.hex(digest).equals(header.sha256())) {
			throw new CorruptVersionException(file, "body sha256 mismatch");
		}
		return new StoredVersion(header, body);
	}

	private static int indexOf(byte[] bytes, int from, int to, byte value) {
		for (int i = from; i < to; i++) {
			if (bytes[i] == value) {
				return i;
			}
		}
		return -1;
	}

	/** The header's {@code format}, 0 if it has none that reads as a number. */
	private static int formatOf(byte[] json) {
		try {
			return MAPPER.readTree(json).path("format").asInt(0);
		}
		catch (JacksonException ex) {
			return 0;
		}
	}

	private static long crc32c(byte[] bytes, int length) {
		CRC32C crc = new CRC32C();
		crc.update(bytes, 0, length);
		return crc.getValue();
	}

}
