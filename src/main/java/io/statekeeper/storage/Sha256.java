package io.statekeeper.storage;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 for the whole service. A new digest is a clone of one looked up once: looking
 * the algorithm up in the providers on every request cost more than hashing a token (2.4%
 * of a GET's CPU in a profile). The prototype is never updated, so cloning it from many
 * threads at once is safe.
 */
public final class Sha256 {

	private static final HexFormat HEX = HexFormat.of();

	private static final MessageDigest PROTOTYPE = lookUp();

	private Sha256() {
	}

	/**
	 * A fresh digest, for hashing in pieces.
	 * @return a digest no one else holds
	 */
	static MessageDigest digest() {
		try {
			return (MessageDigest) PROTOTYPE.clone();
		}
		catch (CloneNotSupportedException ex) {
			return lookUp();
		}
	}

	/**
	 * The digest of some bytes.
	 * @param bytes the bytes
	 * @return their SHA-256
	 */
	public static byte[] of(byte[] bytes) {
		return digest().digest(bytes);
	}

	/**
	 * The digest of some bytes, as text.
	 * @param bytes the bytes
	 * @return their SHA-256, lowercase hex
	 */
	public static String hex(byte[] bytes) {
		return HEX.formatHex(of(bytes));
	}

	/**
	 * What a digest fed in pieces comes to, as text.
	 * @param digest the digest, which this completes
	 * @return its SHA-256, lowercase hex
	 */
	public static String hex(MessageDigest digest) {
		return HEX.formatHex(digest.digest());
	}

	private static MessageDigest lookUp() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every Java platform", ex);
		}
	}

}
