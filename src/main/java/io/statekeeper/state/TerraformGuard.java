package io.statekeeper.state;

import java.util.Arrays;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.state.StateRegistry.Current;

/**
 * The server-side serial/lineage guard of the Terraform endpoint, checked under the
 * state's writer lock against the stored Terraform state. Terraform checks this only on
 * its own side, and {@code terraform state push -force} skips even that:
 * <ul>
 * <li>another lineage than the stored state's: 409 {@code lineage-mismatch};</li>
 * <li>a lower serial: 409 {@code serial-regressed};</li>
 * <li>the same serial with other bytes: 409 {@code serial-reused};</li>
 * <li>the same serial with the same bytes: a retried POST, answered as stored, with no
 * new revision.</li>
 * </ul>
 * Terraform shows only "HTTP error: 409", so each refusal is logged at WARN with its
 * reason (and audited, as every refused write is). A state that is not a Terraform state
 * yet is not guarded; an admin can still roll back through the native restore.
 */
final class TerraformGuard {

	private static final Logger logger = LoggerFactory.getLogger(TerraformGuard.class);

	private TerraformGuard() {
	}

	/**
	 * @return the stored state's result for a retried POST, {@code null} to go on with
	 * the write
	 * @throws StateProblemException 409 if the guard refuses it
	 */
	static WriteResult check(String name, TerraformState incoming, byte[] body, Current current) {
		if (!current.live()) {
			return null;
		}
		byte[] stored = current.version().body();
		TerraformState existing;
		try {
			existing = TerraformState.read(stored);
		}
		catch (StateProblemException notTerraform) {
			return null;
		}
		if (!existing.lineage().equals(incoming.lineage())) {
			throw refuse(StateProblem.LINEAGE_MISMATCH, name, "its lineage is " + existing.lineage() + ", the body's "
					+ incoming.lineage() + ": another state's, or a state created anew", existing);
		}
		if (incoming.serial() < existing.serial()) {
			throw refuse(StateProblem.SERIAL_REGRESSED, name, "its serial is " + existing.serial() + ", the body's "
					+ incoming.serial() + ": an older state would undo newer changes", existing);
		}
		if (incoming.serial() == existing.serial()) {
			if (Arrays.equals(stored, body)) {
				return new WriteResult(StateSummary.of(current.version().header()), false, false);
			}
			throw refuse(StateProblem.SERIAL_REUSED, name, "its serial " + existing.serial()
					+ " is stored with other contents: a change must raise the serial", existing);
		}
		return null;
	}

	private static StateProblemException refuse(StateProblem problem, String name, String why,
			TerraformState existing) {
		String detail = "Refused a Terraform state for '" + name + "': " + why;
		logger.warn("{} ({})", detail, problem.slug());
		return new StateProblemException(problem, detail,
				Map.of("storedSerial", existing.serial(), "storedLineage", existing.lineage()));
	}

}
