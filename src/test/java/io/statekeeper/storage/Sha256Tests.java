package io.statekeeper.storage;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class Sha256Tests {

	@Test
	void givesTheStandardDigests() {
		// FIPS 180-2 test vectors
		assertThat(Sha256.hex(new byte[0]))
			.isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		assertThat(Sha256.hex("abc".getBytes(StandardCharsets.US_ASCII)))
			.isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}

	@Test
	void eachDigestIsItsOwn() {
		MessageDigest first = Sha256.digest();
		MessageDigest second = Sha256.digest();
		first.update("ab".getBytes(StandardCharsets.US_ASCII));
		second.update("xyz".getBytes(StandardCharsets.US_ASCII));
		first.update("c".getBytes(StandardCharsets.US_ASCII));

		assertThat(first.digest()).isEqualTo(Sha256.of("abc".getBytes(StandardCharsets.US_ASCII)));
		assertThat(second.digest()).isEqualTo(Sha256.of("xyz".getBytes(StandardCharsets.US_ASCII)));
		assertThat(Sha256.hex("abc".getBytes(StandardCharsets.US_ASCII)))
			.isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}

}
