package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A small file (not a state) replaced whole and durably through {@link StorageIo}, so the
 * fault-injecting seam reaches it as it reaches every state write: a 0600 temp file in
 * the same directory, written fully and fsynced, renamed atomically over the target, the
 * directory fsynced. On any failure the temp file is removed and the target is as it was.
 */
public final class DurableFiles {

	private DurableFiles() {
	}

	/**
	 * Replaces {@code file} with {@code content}.
	 * @param io the file-system seam
	 * @param file the file
	 * @param content its new bytes
	 * @throws IOException if it could not be made durable (then nothing changed, unless
	 * the directory's fsync failed after the rename)
	 */
	public static void replace(StorageIo io, Path file, byte[] content) throws IOException {
		renameInto(io, file, content);
		io.fsyncDirectory(file.getParent());
	}

	/**
	 * {@link #replace} up to the rename: the directory is not fsynced yet (the caller
	 * does, and decides what a failed fsync means).
	 */
	static void renameInto(StorageIo io, Path file, byte[] content) throws IOException {
		Path temp = file
			.resolveSibling(StoreLayout.TEMP_PREFIX + file.getFileName() + "-" + StoreLayout.randomSuffix());
		FileChannel channel = io.createNew(temp);
		try {
			try {
				io.writeFully(channel, ByteBuffer.wrap(content));
				io.force(channel);
			}
			finally {
				io.close(channel);
			}
			io.move(temp, file);
		}
		catch (IOException | RuntimeException ex) {
			StorageFailures.discard(io, temp);
			throw ex;
		}
	}

}
