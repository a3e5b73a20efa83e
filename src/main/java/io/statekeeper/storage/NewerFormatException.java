package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A version file written by a newer release, in a format this one does not know: not
 * damage (it is never quarantined), but a rollback too far. Start-up stops with this
 * message; a read at run time fails with 503, and the file is left alone.
 */
class NewerFormatException extends IOException {

	private static final long serialVersionUID = 1L;

	NewerFormatException(Path file, int format) {
		this(file, format, VersionFormat.FORMAT);
	}

	NewerFormatException(Path file, int format, int known) {
		super(file + " is in format " + format + ", written by a newer release; this release reads format " + known
				+ " and older. Run that release (or a newer one) again: files are never " + "converted back");
	}

}
