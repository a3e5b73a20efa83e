package io.statekeeper.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;

/**
 * One process per data directory: an exclusive {@code fcntl} lock on
 * {@code <data-dir>/statekeeper.lock}, held for the life of the process. The lock file is
 * opened for nothing else (closing any other descriptor of it would drop a POSIX lock).
 * The kernel releases the lock when the process dies, however it dies, so a lock file
 * left by a dead process never blocks a new start.
 */
public final class DataDirectoryLock implements AutoCloseable {

	static final String FILE_NAME = "statekeeper.lock";

	private final FileChannel channel;

	private final FileLock lock;

	private DataDirectoryLock(FileChannel channel, FileLock lock) {
		this.channel = channel;
		this.lock = lock;
	}

	static DataDirectoryLock acquire(Path dataDir) {
		Path file = dataDir.resolve(FILE_NAME);
		FileChannel channel;
		try {
			channel = FileChannel.open(file, EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
					java.nio.file.attribute.PosixFilePermissions.asFileAttribute(StorageIo.FILE_PERMISSIONS));
		}
		catch (IOException ex) {
			throw new DataDirectoryLockedException("Cannot open the lock file " + file + ": " + ex.getMessage(), ex);
		}
		FileLock lock;
		try {
			lock = channel.tryLock();
		}
		catch (IOException | OverlappingFileLockException ex) {
			lock = null;
		}
		if (lock == null) {
			closeQuietly(channel);
			throw new DataDirectoryLockedException("Another Statekeeper process is using the data directory " + dataDir
					+ " (it holds the lock on " + file + "). One process per data directory: stop the other one, "
					+ "or give this one its own statekeeper.storage.data-dir.", null);
		}
		return new DataDirectoryLock(channel, lock);
	}

	boolean isHeld() {
		return this.lock.isValid();
	}

	@Override
	public void close() {
		try {
			this.lock.release();
		}
		catch (IOException ex) {
			// closing the channel below releases it too
		}
		closeQuietly(this.channel);
	}

	private static void closeQuietly(FileChannel channel) {
		try {
			channel.close();
		}
		catch (IOException ex) {
			// nothing more to release
		}
	}

	/**
	 * Another process holds the data directory.
	 */
	public static final class DataDirectoryLockedException extends IllegalStateException {

		private static final long serialVersionUID = 1L;

		DataDirectoryLockedException(String message, Throwable cause) {
			super(message, cause);
		}

	}

}
