package io.statekeeper.storage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

class ChecksummedBodyTests {

	private static final int INLINE = Integer.MAX_VALUE;

	private static final int ALONGSIDE = 0;

	/** A stream that hands out at most {@code piece} bytes per read, as a socket does. */
	private static InputStream trickling(byte[] bytes, int piece) {
		return new ByteArrayInputStream(bytes) {
			@Override
			public synchronized int read(byte[] b, int off, int len) {
				return super.read(b, off, Math.min(len, piece));
			}
		};
	}

	/** Hashed on the reading thread, or by the second thread behind it. */
	static Stream<Arguments> sizesAndWays() {
		return Stream.of(0, 1, 8191, 65536, 65537, 300_000)
			.flatMap((size) -> Stream.of(Arguments.of(size, INLINE), Arguments.of(size, ALONGSIDE)));
	}

	@ParameterizedTest
	@MethodSource("sizesAndWays")
	void aBodyReadInPiecesHasTheChecksumOfItsBytes(int size, int hashAlongsideFrom) throws IOException {
		byte[] bytes = new byte[size];
		new Random(size).nextBytes(bytes);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 7919), size, hashAlongsideFrom);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes))
			.isEqualTo(ChecksummedBody.of(bytes).sha256());
	}

	static Stream<Arguments> arrivalsAndWays() {
		return Stream.of(0, 1, 70_000)
			.flatMap((size) -> Stream.of(Arguments.of(size, INLINE), Arguments.of(size, ALONGSIDE)));
	}

	@ParameterizedTest
	@MethodSource("arrivalsAndWays")
	void aStreamThatEndsEarlyGivesWhatArrivedWithItsChecksum(int arrived, int hashAlongsideFrom) throws IOException {
		byte[] bytes = new byte[arrived];
		new Random(arrived).nextBytes(bytes);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 4096), 100_000, hashAlongsideFrom);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes));
	}

	@Test
	void theDefaultHashesALargeBodyAlongsideAndItsChecksumIsTheBodys() throws IOException {
		byte[] bytes = new byte[ChecksummedBody.HASH_ALONGSIDE_FROM * 3 + 17];
		new Random(3).nextBytes(bytes);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 65536), bytes.length);

		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes));
	}

	/**
	 * A client that goes away mid-body: the read fails with the stream's error, and the
	 * hashing threads are not left waiting for the rest (more failures than there are
	 * threads, then a read that needs one of them).
	 */
	@Test
	@Timeout(60)
	void aBodyThatFailsMidwayFailsTheReadAndLeavesNoHashingThreadWaiting() throws IOException {
		byte[] bytes = new byte[200_000];
		new Random(5).nextBytes(bytes);
		int failures = Runtime.getRuntime().availableProcessors() * 2 + 1;
		for (int i = 0; i < failures; i++) {
			InputStream failing = new SequenceInputStream(new ByteArrayInputStream(bytes, 0, 100_000),
					new InputStream() {
						@Override
						public int read() throws IOException {
							throw new IOException("connection reset");
						}
					});
			assertThatIOException().isThrownBy(() -> ChecksummedBody.read(failing, bytes.length, ALONGSIDE))
				.withMessage("connection reset");
		}

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 4096), bytes.length, ALONGSIDE);

		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes));
	}

}
