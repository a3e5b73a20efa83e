package io.statekeeper.state;

/**
 * The outcome of a write.
 *
 * @param summary the new revision (or, when nothing was stored, the current one)
 * @param created whether the state did not exist before
 * @param stored whether a new revision was stored ({@code false} for a retried Terraform
 * POST of the stored bytes)
 */
public record WriteResult(StateSummary summary, boolean created, boolean stored) {

	public WriteResult(StateSummary summary, boolean created) {
		this(summary, created, true);
	}

}
