package io.statekeeper.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Optional encryption at rest: AES-256-GCM of each state body. The stored body is a
 * 12-byte random nonce followed by the ciphertext and its 16-byte tag; the associated
 * data binds it to its state and revision ({@code statekeeper:<name>:<revision>}), so a
 * body moved to another place fails to decrypt. The header names the key ({@code key})
 * and keeps the checksum of the stored bytes, so start-up verifies every file without
 * keys; {@code plainSha256} is the checksum clients see. New writes use the active key;
 * every configured key keeps reading what it wrote.
 */
public final class StateCipher {

	private static final int NONCE_BYTES = 12;

	private static final int TAG_BITS = 128;

	private static final SecureRandom RANDOM = new SecureRandom();

	private final Map<String, SecretKey> keys;

	private final String activeKey;

	private StateCipher(Map<String, SecretKey> keys, String activeKey) {
		this.keys = keys;
		this.activeKey = activeKey;
	}

	/** No encryption: bodies are stored as they are. */
	public static StateCipher none() {
		return new StateCipher(Map.of(), null);
	}

	/**
	 * Loads the configured keys.
	 * @param properties the encryption settings
	 * @return the cipher
	 * @throws IllegalStateException if a key file is missing, unreadable or not a 256-bit
	 * key
	 */
	public static StateCipher of(EncryptionProperties properties) {
		if (properties.keys().isEmpty()) {
			if (properties.activeKey() != null) {
				throw new IllegalStateException(
						"statekeeper.encryption.active-key is set but no statekeeper.encryption.keys are configured");
			}
			return none();
		}
		Map<String, SecretKey> keys = new LinkedHashMap<>();
		for (EncryptionProperties.Key key : properties.keys()) {
			keys.put(key.id(), load(key.id(), key.file()));
		}
		String active = properties.activeKey();
		if (active == null || !keys.containsKey(active)) {
			throw new IllegalStateException("statekeeper.encryption.active-key must name one of the configured keys "
					+ keys.keySet() + ", was " + active);
		}
		return new StateCipher(Map.copyOf(keys), active);
	}

	private static SecretKey load(String id, Path file) {
		byte[] bytes;
		try {
			String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
			bytes = Base64.getDecoder().decode(text);
		}
		catch (IOException | IllegalArgumentException ex) {
			throw new IllegalStateException("Cannot read encryption key '" + id + "' from " + file
					+ " (expected 32 random bytes in base64: head -c 32 /dev/urandom | base64): " + ex.getMessage(),
					ex);
		}
		if (bytes.length != 32) {
			throw new IllegalStateException("Encryption key '" + id + "' in " + file + " is " + bytes.length * 8
					+ " bits; AES-256 needs exactly 32 bytes (base64)");
		}
		return new SecretKeySpec(bytes, "AES");
	}

	/** Whether new writes are encrypted. */
	boolean active() {
		return this.activeKey != null;
	}

	String activeKey() {
		return this.activeKey;
	}

	boolean knows(String key) {
		return this.keys.containsKey(key);
	}

	byte[] encrypt(String name, long revision, byte[] plain) {
		try {
			byte[] nonce = new byte[NONCE_BYTES];
			RANDOM.nextBytes(nonce);
			Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
			cipher.init(Cipher.ENCRYPT_MODE, this.keys.get(this.activeKey), new GCMParameterSpec(TAG_BITS, nonce));
			cipher.updateAAD(aad(name, revision));
			byte[] stored = new byte[NONCE_BYTES + cipher.getOutputSize(plain.length)];
			System.arraycopy(nonce, 0, stored, 0, NONCE_BYTES);
			cipher.doFinal(plain, 0, plain.length, stored, NONCE_BYTES);
			return stored;
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException("AES-256-GCM is required of every Java platform", ex);
		}
	}

	/**
	 * Decrypts a stored body.
	 * @throws GeneralSecurityException if the key is unknown or does not decrypt it
	 */
	byte[] decrypt(VersionHeader header, byte[] stored) throws GeneralSecurityException {
		SecretKey key = this.keys.get(header.key());
		if (key == null) {
			throw new GeneralSecurityException("key '" + header.key() + "' is not configured");
		}
		if (stored.length < NONCE_BYTES) {
			throw new GeneralSecurityException("body too short for AES-GCM");
		}
		Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
		cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, stored, 0, NONCE_BYTES));
		cipher.updateAAD(aad(header.name(), header.revision()));
		return cipher.doFinal(stored, NONCE_BYTES, stored.length - NONCE_BYTES);
	}

	private static byte[] aad(String name, long revision) {
		return ("statekeeper:" + name + ":" + revision).getBytes(StandardCharsets.UTF_8);
	}

}
