package io.statekeeper.storage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class ChecksummedBodyTests {

	/** A stream that hands out at most {@code piece} bytes per read, as a socket does. */
	private static InputStream trickling(byte[] bytes, int piece) {
		return new ByteArrayInputStream(bytes) {
			@Override
			public synchronized int read(byte[] b, int off, int len) {
				return super.read(b, off, Math.min(len, piece));
			}
		};
	}

	@ParameterizedTest
	@ValueSource(ints = { 0, 1, 8191, 65536, 65537, 300_000 })
	void aBodyReadInPiecesHasTheChecksumOfItsBytes(int size) throws IOException {
		byte[] bytes = new byte[size];
		new Random(size).nextBytes(bytes);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 7919), size);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes))
			.isEqualTo(ChecksummedBody.of(bytes).sha256());
	}

	@ParameterizedTest
	@ValueSource(ints = { 0, 1, 70_000 })
	void aStreamThatEndsEarlyGivesWhatArrivedWithItsChecksum(int arrived) throws IOException {
		byte[] bytes = new byte[arrived];
		new Random(arrived).nextBytes(bytes);

		ChecksummedBody body = ChecksummedBody.read(trickling(bytes, 4096), 100_000);

		assertThat(body.bytes()).isEqualTo(bytes);
		assertThat(body.sha256()).isEqualTo(VersionFormat.sha256Hex(bytes));
	}

}
