package io.statekeeper.state;

import java.time.Clock;

import org.springframework.context.ApplicationEventPublisher;

import io.statekeeper.state.StateRegistry.Current;
import io.statekeeper.state.StateRegistry.StateEntry;
import io.statekeeper.storage.ChecksummedBody;
import io.statekeeper.storage.LockFence;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageException;
import io.statekeeper.storage.StoredVersion;
import io.statekeeper.storage.VersionHeader;

/**
 * The one path every write takes (put, Terraform's put, patch, delete, restore), in one
 * order: name, body checks (validation alongside, for large bodies), the state's writer
 * lock (then, with a store replicas share, a read through to it), the state's condition,
 * the client lock, the request's conditions, the write itself (all of it tried again on a
 * shared store's conflict, {@link ConflictRetry}), the lease renewal, the audit event in
 * revision order, and the meters and log line whatever the outcome. {@link StateService}
 * says what each kind of write does; this class says in what order and under which lock,
 * in one place.
 */
final class WritePath {

	private final StateRepository repository;

	private final StateRegistry registry;

	private final StateLocks locks;

	private final WriteAudit audit;

	private final ApplicationEventPublisher events;

	private final WriteMeters writeMeters;

	private final Clock clock;

	private final int versionsKept;

	private final ConflictRetry retry;

	WritePath(StateRepository repository, StateRegistry registry, StateLocks locks, WriteAudit audit,
			ApplicationEventPublisher events, WriteMeters writeMeters, Clock clock, int versionsKept,
			ConflictRetry retry) {
		this.retry = retry;
		this.repository = repository;
		this.registry = registry;
		this.locks = locks;
		this.audit = audit;
		this.events = events;
		this.writeMeters = writeMeters;
		this.clock = clock;
		this.versionsKept = versionsKept;
	}

	/**
	 * @param admission what the state's condition must allow, checked under the lock
	 * before the request's conditions (a damaged state answers for itself, not with 412)
	 */
	WriteResult write(String operation, String name, Precondition precondition,
			java.util.function.Consumer<Current> admission, WriteAction action,
			java.util.function.Supplier<PendingValidation> validation) {
		long start = System.nanoTime();
		String outcome = "success";
		String reason = "none";
		WriteResult result = null;
		boolean published = false;
		try {
			StateService.checkName(name);
			PendingValidation validated = validation.get();
			try {
				result = this.retry.run(() -> writeLocked(operation, name, precondition, admission, action, validated));
				published = true;
				return result;
			}
			catch (RuntimeException ex) {
				throw validated.invalidBodyFirst(ex);
			}
		}
		catch (StateProblemException ex) {
			outcome = "rejected";
			reason = ex.getProblem().slug();
			throw ex;
		}
		catch (StorageException ex) {
			outcome = "failed";
			reason = ex.getReason().tag();
			throw ex;
		}
		catch (RuntimeException ex) {
			outcome = "failed";
			reason = "internal";
			throw ex;
		}
		finally {
			long nanos = System.nanoTime() - start;
			if (!published) {
				this.events.publishEvent(new StateWriteEvent(operation, name, 0, null, outcome, reason));
			}
			this.writeMeters.written(operation, name, outcome, reason, nanos,
					(result != null) ? result.summary() : null);
		}
	}

	private WriteResult writeLocked(String operation, String name, Precondition precondition,
			java.util.function.Consumer<Current> admission, WriteAction action, PendingValidation validated) {
		StateEntry entry = this.registry.lock(name);
		try {
			if (this.repository.shared()) {
				// another replica may have written it: decide on what the store has now
				this.registry.refresh(this.repository.reload(name, entry.current.version()), true);
			}
			Current current = entry.current;
			admission.accept(current);
			this.locks.admitWrite(entry, name, precondition.lockId());
			if (precondition.ifMatch() != null || precondition.ifNoneMatch() != null) {
				precondition.check(current.live() ? current.version().header() : null);
			}
			VersionHeader previous = current.header();
			if (previous != null && (previous.deleted() || this.versionsKept == 0)) {
				// this write replaces a version that is not kept
				this.audit.awaitDurableUpTo(name, previous.revision());
			}
			WriteResult result = action.apply(entry, current, this.audit.headerFields(operation), validated);
			if (precondition.lockId() != null) {
				this.locks.renewAfterWrite(entry, name);
			}
			if (result.stored()) {
				// under the lock: the audit trail sees one state's writes in revision
				// order
				this.events.publishEvent(new StateWriteEvent(operation, name, result.summary().revision(),
						result.summary().checksum(), "success", "none"));
			}
			return result;
		}
		finally {
			entry.lock.unlock();
		}
	}

	/**
	 * Stores a new body as the next revision, under the state's lock: the action of every
	 * write that stores a body.
	 */
	WriteResult store(String name, ChecksummedBody checksummed, StateEntry entry, Current current,
			VersionHeader.Audit auditFields, PendingValidation validated, Precondition precondition) {
		byte[] body = checksummed.bytes();
		boolean created = !current.live();
		long revision = entry.nextRevision();
		VersionHeader header;
		try {
			header = this.repository.write(name, current.header(), revision, checksummed, this.clock.instant(),
					auditFields, LockFence.of(precondition.lockId()), validated::await);
		}
		catch (StateProblemException invalid) {
			// refused by the validation that ran alongside, before anything was
			// published: no client and no file ever saw this revision
			entry.giveBack(revision);
			throw invalid;
		}
		entry.commit(new StoredVersion(header, body));
		this.writeMeters.size(body.length);
		return new WriteResult(StateSummary.of(header), created);
	}

	@FunctionalInterface
	interface WriteAction {

		WriteResult apply(StateEntry entry, Current current, VersionHeader.Audit auditFields,
				PendingValidation validated);

	}

}
