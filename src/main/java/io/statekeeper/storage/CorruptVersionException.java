package io.statekeeper.storage;

import java.nio.file.Path;

/**
 * A version file that fails verification: unparsable or mismatched header, a body of the
 * wrong length, or a checksum that does not match. Never served.
 */
class CorruptVersionException extends Exception {

	private static final long serialVersionUID = 1L;

	private final transient Path file;

	CorruptVersionException(Path file, String problem) {
		super(file.getFileName() + ": " + problem);
		this.file = file;
	}

	/**
	 * The damaged file.
	 * @return its path
	 */
	public Path getFile() {
		return this.file;
	}

}
