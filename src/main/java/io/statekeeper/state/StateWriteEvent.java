package io.statekeeper.state;

/**
 * Published (synchronously, on the request's thread) after every write attempt that
 * reached the service, whatever its outcome, and for every damaged state found at
 * start-up. The audit trail listens.
 *
 * @param action {@code put}, {@code delete}, {@code restore} or {@code recovery}
 * @param state the state's name
 * @param revision the revision written (0 if none)
 * @param checksum the checksum of what was written, or {@code null}
 * @param outcome {@code success}, {@code rejected}, {@code failed}, or for recovery
 * {@code held}, {@code unrecoverable}, {@code restored}
 * @param reason why, for anything but success
 */
public record StateWriteEvent(String action, String state, long revision, String checksum, String outcome,
		String reason) {

}
