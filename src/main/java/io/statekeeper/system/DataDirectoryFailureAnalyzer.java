package io.statekeeper.system;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import io.statekeeper.storage.DataDirectoryLock.DataDirectoryLockedException;

/**
 * Turns "another process holds the data directory" into a start-up report an operator can
 * act on, instead of a stack trace.
 */
class DataDirectoryFailureAnalyzer extends AbstractFailureAnalyzer<DataDirectoryLockedException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, DataDirectoryLockedException cause) {
		return new FailureAnalysis(cause.getMessage(),
				"Stop the other Statekeeper process using this data directory, or set "
						+ "statekeeper.storage.data-dir (STATEKEEPER_STORAGE_DATA_DIR) to a directory of its own.",
				cause);
	}

}
