package io.statekeeper.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.StorageException.Reason;

/**
 * How the file store turns what the file system threw into a {@link StorageException}
 * with a bounded reason, and cleans up after itself without masking the failure.
 */
final class StorageFailures {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	private StorageFailures() {
	}

	/**
	 * Translates a failure to a {@link StorageException} with a bounded reason,
	 * recognising a full store from the error itself: {@code ENOSPC} also happens with
	 * bytes free when inodes run out.
	 */
	static StorageException failure(String action, Throwable ex) {
		if (ex instanceof StorageException storage) {
			return storage;
		}
		Reason reason = classify(ex);
		return new StorageException(reason, "Could not " + action + ": " + ex.getMessage(), ex);
	}

	/**
	 * The reason for a failure. NIO reports {@code ENOSPC}, {@code EROFS} and
	 * {@code EPERM} as plain {@link IOException}s whose message is the system's text, so
	 * that is what is read (the JDK names only {@code EACCES} with a type of its own).
	 */
	static Reason classify(Throwable ex) {
		if (ex instanceof CorruptVersionException) {
			return Reason.VERIFY_FAILED;
		}
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			String message = String.valueOf(cause.getMessage());
			if (message.contains("No space left on device") || message.contains("Disk quota exceeded")) {
				return Reason.NO_SPACE;
			}
			if (message.contains("Read-only file system")) {
				return Reason.READ_ONLY;
			}
			if (cause instanceof AccessDeniedException || message.contains("Permission denied")
					|| message.contains("Operation not permitted")) {
				return Reason.ACCESS_DENIED;
			}
		}
		return Reason.IO_ERROR;
	}

	/** Removes a file or directory, logging (not throwing) what fails. */
	static void discard(StorageIo io, Path path) {
		try {
			io.delete(path);
		}
		catch (IOException | RuntimeException ex) {
			logger.warn("Could not remove {}: {}", path, ex.toString());
		}
	}

	/** Closes a channel on a path that is failing already. */
	static void closeQuietly(StorageIo io, FileChannel channel) {
		try {
			io.close(channel);
		}
		catch (IOException | RuntimeException ex) {
			// already failing
		}
	}

}
