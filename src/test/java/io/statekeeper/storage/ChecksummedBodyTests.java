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

	/** Each size hashed on the reading thread, and by the second thread behind it. */
	private static Stream<Arguments> bothWays(Integer... sizes) {
		return Stream.of(sizes).flatMap((size) -> Stream.of(Arguments.of(size, INLINE), Arguments.of(size, ALONGSIDE)));
	}

	private static byte[] randomBytes(int size) {
		byte[] bytes = new byte[size];
		new Random(size).nextBytes(bytes);
		return bytes;
	}

	static Stream<Arguments> sizesAndWays() {
		return bothWays(0, 1, 8191, 65536, 65537, 300_000);
	}

	@ParameterizedTest
	@MethodSource("sizesAndWays")
	void aBodyReadInPiecesHasTheChecksumOfItsBytes(int size, int hashAlongsideFrom) throws IOException {
		byte[] bytes = randomBytes(size);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 7919), size, hashAlongsideFrom);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(Sha256.hex(bytes)).isEqualTo(ChecksummedBody.of(bytes).sha256());
	}

	static Stream<Arguments> arrivalsAndWays() {
		return bothWays(0, 1, 70_000);
	}

	@ParameterizedTest
	@MethodSource("arrivalsAndWays")
	void aStreamThatEndsEarlyGivesWhatArrivedWithItsChecksum(int arrived, int hashAlongsideFrom) throws IOException {
		byte[] bytes = randomBytes(arrived);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 4096), 100_000, hashAlongsideFrom);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(Sha256.hex(bytes));
	}

	@Test
	void theDefaultHashesALargeBodyAlongsideAndItsChecksumIsTheBodys() throws IOException {
		byte[] bytes = randomBytes(ChecksummedBody.HASH_ALONGSIDE_FROM * 3 + 17);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 65536), bytes.length);

		assertThat(body.sha256()).isEqualTo(Sha256.hex(bytes));
	}

	/**
	 * A client that goes away mid-body: the read fails with the stream's error, and the
	 * hashing threads are not left waiting for the rest (more failures than there are
	 * threads, then a read that needs one of them).
	 */
	@Test
	@Timeout(60)
	void aBodyThatFailsMidwayFailsTheReadAndLeavesNoHashingThreadWaiting() throws IOException {
		byte[] bytes = randomBytes(200_000);
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

		assertThat(body.sha256()).isEqualTo(Sha256.hex(bytes));
	}

}
