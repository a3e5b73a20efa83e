package io.statekeeper.storage;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * A state body with its SHA-256, which a write puts in the version header. Only made
 * here, so the checksum always is the body's: {@link #of(byte[])} computes it in one
 * pass; {@link #read(InputStream, int)} computes it chunk by chunk while the body
 * arrives, so that hashing a large body overlaps with receiving it instead of following
 * it.
 */
public final class ChecksummedBody {

	/** Hashed as they arrive: big enough for few calls, small enough to stay in cache. */
	private static final int CHUNK = 64 * 1024;

	private final byte[] bytes;

	private final String sha256;

	private ChecksummedBody(byte[] bytes, String sha256) {
		this.bytes = bytes;
		this.sha256 = sha256;
	}

	/**
	 * A body whose checksum is computed now.
	 * @param bytes the exact bytes
	 * @return the body with its checksum
	 */
	public static ChecksummedBody of(byte[] bytes) {
		return new ChecksummedBody(bytes, VersionFormat.sha256Hex(bytes));
	}

	/**
	 * Reads up to {@code length} bytes, hashing each chunk as it arrives.
	 * @param in the stream
	 * @param length the declared length
	 * @return what was read (shorter if the stream ended early) with its checksum
	 * @throws IOException if reading fails
	 */
	public static ChecksummedBody read(InputStream in, int length) throws IOException {
		MessageDigest digest = VersionFormat.sha256();
		byte[] bytes = new byte[length];
		int offset = 0;
		while (offset < length) {
			int read = in.read(bytes, offset, Math.min(CHUNK, length - offset));
			if (read < 0) {
				break;
			}
			digest.update(bytes, offset, read);
			offset += read;
		}
		return new ChecksummedBody((offset == length) ? bytes : Arrays.copyOf(bytes, offset),
				VersionFormat.HEX.formatHex(digest.digest()));
	}

	/**
	 * The body.
	 * @return the exact bytes (not a copy)
	 */
	public byte[] bytes() {
		return this.bytes;
	}

	/**
	 * Its checksum.
	 * @return the SHA-256 of {@link #bytes()}, lowercase hex
	 */
	public String sha256() {
		return this.sha256;
	}

}
