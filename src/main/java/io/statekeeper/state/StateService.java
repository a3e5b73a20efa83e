package io.statekeeper.state;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.Gauge;
import tools.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

import io.statekeeper.state.StateRegistry.Current;
import io.statekeeper.state.StateRegistry.StateEntry;
import io.statekeeper.storage.ChecksummedBody;
import io.statekeeper.storage.DaemonThreads;
import io.statekeeper.storage.LoadedState;
import io.statekeeper.storage.LoadedState.Condition;
import io.statekeeper.storage.LockFence;
import io.statekeeper.storage.SharedState;
import io.statekeeper.storage.StateName;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.StoredVersion;
import io.statekeeper.storage.VersionHeader;

/**
 * The public face of states: every read and write goes through here.
 * <ul>
 * <li><b>One writer per state.</b> Each state has a lock; a writer waits at most
 * {@code lock-timeout} for it (then 503). Conditions ({@code If-Match}) are checked under
 * that lock, so check-and-write is atomic. Different states are written in parallel.</li>
 * <li><b>Readers never block.</b> Each state's current version is an immutable snapshot
 * (bytes and header) swapped in after its commit is durable; readers take whatever
 * snapshot is there.</li>
 * <li><b>Revisions only grow</b> and are never reused for a name: the counter survives
 * deletes (a tombstone keeps it), restores, recovery and restarts.</li>
 * <li>Every write is validated before it reaches the repository, timed
 * ({@code statekeeper.state.writes}) and logged.</li>
 * </ul>
 * The order every write takes, under which lock, is {@link WritePath}; what is not a
 * write lives elsewhere too: the registry ({@link StateRegistry}), locks
 * ({@link StateLocks}), meters ({@link WriteMeters}), Terraform's guard
 * ({@link TerraformGuard}), patches ({@link StatePatch}).
 */
@Service
public class StateService implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(StateService.class);

	private final StateRepository repository;

	private final StateValidator validator;

	private final Clock clock;

	private final long maxStateSize;

	private final WriteMeters writeMeters;

	private final StateRegistry registry;

	private final List<StateWriteEvent> recoveredAtStartUp = new ArrayList<>();

	private final int versionsKept;

	private final StateLocks locks;

	private final WritePath writes;

	/** Whether replicas share the store: then every read reads through to it. */
	private final boolean shared;

	/** Validates large bodies alongside their writes. */
	private final java.util.concurrent.ExecutorService validation = DaemonThreads.pool("validation",
			Math.max(2, Runtime.getRuntime().availableProcessors()));

	/**
	 * A service without an audit trail.
	 */
	public StateService(StateRepository repository, StateValidator validator, StorageProperties properties, Clock clock,
			MeterRegistry registry, ApplicationEventPublisher events) {
		this(repository, validator, properties, clock, registry, events, WriteAudit.NONE);
	}

	public StateService(StateRepository repository, StateValidator validator, StorageProperties properties, Clock clock,
			MeterRegistry registry, ApplicationEventPublisher events, WriteAudit audit) {
		this(repository, validator, properties, LockProperties.DEFAULT, clock, registry, events, audit);
	}

	@org.springframework.beans.factory.annotation.Autowired
	public StateService(StateRepository repository, StateValidator validator, StorageProperties properties,
			LockProperties lockProperties, Clock clock, MeterRegistry registry, ApplicationEventPublisher events,
			WriteAudit audit) {
		this.versionsKept = properties.backupsKept();
		this.repository = repository;
		this.shared = repository.shared();
		this.validator = validator;
		this.clock = clock;
		this.maxStateSize = properties.maxStateSize().toBytes();
		this.registry = new StateRegistry(properties.lockTimeout());
		this.writeMeters = new WriteMeters(registry);
		for (LoadedState loaded : repository.loadAll()) {
			this.registry.load(loaded);
			if (loaded.restored() || loaded.condition() != Condition.OK) {
				VersionHeader header = (loaded.current() != null) ? loaded.current().header() : null;
				this.recoveredAtStartUp.add(new StateWriteEvent("recovery", loaded.name(),
						(header != null) ? header.revision() : 0, (header != null) ? header.checksum() : null,
						loaded.restored() ? "restored" : loaded.condition().name().toLowerCase(java.util.Locale.ROOT),
						"damaged"));
			}
		}
		ConflictRetry retry = new ConflictRetry(registry);
		this.locks = new StateLocks(this.registry, repository, clock, lockProperties.lease(), registry, events, retry);
		this.locks.load(repository.loadLocks());
		this.writes = new WritePath(repository, this.registry, this.locks, audit, events, this.writeMeters, clock,
				this.versionsKept, retry);
		Gauge.builder("statekeeper.states", this.registry, StateRegistry::countLive)
			.description("States currently stored")
			.register(registry);
		Gauge.builder("statekeeper.states.damaged", this.registry, (states) -> states.damagedStates().size())
			.description("States held or unrecoverable because their current version is damaged")
			.register(registry);
		logger.info("Loaded {} states", this.registry.countLive());
	}

	/**
	 * What start-up recovery did to damaged states (for the audit trail).
	 * @return one event per damaged state found
	 */
	public List<StateWriteEvent> recoveredAtStartUp() {
		return List.copyOf(this.recoveredAtStartUp);
	}

	/**
	 * The headers of every version stored for each state, current ones (tombstones
	 * included) and kept ones, for the audit trail's start-up check.
	 * @param newerThan per state name, only headers with a greater revision are wanted
	 * (names not in the map: every header)
	 * @return the headers, by state name (states with none left out)
	 */
	public Map<String, List<VersionHeader>> storedHeaders(Map<String, Long> newerThan) {
		Map<String, List<VersionHeader>> headers = new java.util.TreeMap<>();
		this.registry.forEach((name, entry) -> {
			long after = newerThan.getOrDefault(name, 0L);
			VersionHeader current = entry.current.header();
			if ((current != null) ? current.revision() <= after : entry.current.condition() == Condition.OK) {
				// versions are never newer than the current one; a damaged state may have
				// kept versions only
				return;
			}
			List<VersionHeader> newer = new ArrayList<>();
			if (current != null) {
				newer.add(current);
			}
			for (VersionHeader kept : this.repository.versions(name)) {
				if (kept.revision() > after && (current == null || kept.revision() != current.revision())) {
					newer.add(kept);
				}
			}
			if (!newer.isEmpty()) {
				headers.put(name, newer);
			}
		});
		return headers;
	}

	/**
	 * The largest state body accepted.
	 * @return bytes
	 */
	public long maxStateSize() {
		return this.maxStateSize;
	}

	/**
	 * Checks a name against the {@link StateName} rule.
	 * @param name the name
	 * @return the name
	 * @throws StateProblemException (400) if it is not valid
	 */
	static String checkName(String name) {
		if (!StateName.isValid(name)) {
			throw new StateProblemException(StateProblem.INVALID_NAME, "A state name is " + StateName.DESCRIPTION);
		}
		return name;
	}

	// ------------------------------------------------------------------ reads

	/**
	 * Every stored state, by name, damaged ones (held or unrecoverable) included with
	 * their status.
	 * @return their summaries
	 */
	public List<StateSummary> list() {
		if (this.shared) {
			this.repository.reloadAll(this::known).forEach((state) -> this.registry.refresh(state, false));
		}
		return this.registry.list();
	}

	/** The version this process holds of a state, {@code null} for none. */
	private StoredVersion known(String name) {
		StateEntry entry = this.registry.get(name);
		return (entry != null) ? entry.current.version() : null;
	}

	/**
	 * A state's entry to read from, {@code null} if the name was never stored. With a
	 * shared store, read through to it first: another replica may have written it.
	 */
	private StateEntry readable(String name) {
		checkName(name);
		if (!this.shared) {
			return this.registry.get(name);
		}
		SharedState now = this.repository.reload(name, known(name));
		LoadedState state = now.state();
		if (state.current() == null && state.condition() == Condition.OK && now.lock() == null) {
			// never stored here or by any replica (a tombstone is a version)
			return this.registry.get(name);
		}
		return this.registry.refresh(now, false);
	}

	/**
	 * The current version's header of every state that has one (tombstones included), for
	 * the audit trail's anchors.
	 * @return the headers, by state name
	 */
	public Map<String, VersionHeader> currentHeaders() {
		return this.registry.currentHeaders();
	}

	/**
	 * The states that cannot be served because their current version is damaged.
	 * @return name to condition ({@code held} or {@code unrecoverable}), by name
	 */
	public Map<String, String> damagedStates() {
		return this.registry.damagedStates();
	}

	/**
	 * The current version of a state, from memory: never blocks, never touches the disk
	 * (with a shared store, one read of its current revision first, and of its bytes when
	 * another replica replaced them).
	 * @param name the state's name
	 * @return the version (header and exact bytes)
	 * @throws StateProblemException 404 if absent, 503 if damaged
	 */
	public StoredVersion get(String name) {
		StateEntry entry = readable(name);
		if (entry == null) {
			throw notFound(name);
		}
		Current current = entry.current;
		current.refuseIfDamaged(name);
		if (!current.live()) {
			throw notFound(name);
		}
		return current.version();
	}

	/**
	 * Every readable revision of a state, newest first: the current one, then the kept
	 * ones.
	 * @param name the state's name
	 * @return the versions
	 */
	public List<VersionSummary> versions(String name) {
		StateEntry entry = readable(name);
		if (entry == null) {
			throw notFound(name);
		}
		List<VersionSummary> versions = new ArrayList<>();
		Current current = entry.current;
		if (current.live()) {
			versions.add(VersionSummary.of(current.version().header(), true));
		}
		for (VersionHeader header : this.repository.versions(name)) {
			if (!current.live() || header.revision() != current.version().header().revision()) {
				versions.add(VersionSummary.of(header, false));
			}
		}
		if (versions.isEmpty() && current.version() == null && current.condition() == Condition.OK) {
			// only a refused write ever named it: nothing was stored
			throw notFound(name);
		}
		return versions;
	}

	/**
	 * One revision's exact bytes, verified against its checksum.
	 * @param name the state's name
	 * @param revision the revision
	 * @return the version
	 */
	public StoredVersion version(String name, long revision) {
		StateEntry entry = readable(name);
		if (entry == null) {
			throw notFound(name);
		}
		return readRevision(entry, name, revision);
	}

	private StoredVersion readRevision(StateEntry entry, String name, long revision) {
		Current current = entry.current;
		if (current.live() && current.version().header().revision() == revision) {
			return current.version();
		}
		StoredVersion version = this.repository.readVersion(name, revision);
		if (version == null || version.header().deleted()) {
			throw new StateProblemException(StateProblem.VERSION_NOT_FOUND,
					"Revision " + revision + " of '" + name + "' is not kept");
		}
		return version;
	}

	// ------------------------------------------------------------------ writes

	/**
	 * Validates and durably stores a new revision of a state.
	 * @param name the state's name
	 * @param body the exact bytes
	 * @param precondition the request's conditions
	 * @return the result
	 */
	public WriteResult put(String name, byte[] body, Precondition precondition) {
		return put(name, ChecksummedBody.of(body), precondition);
	}

	/**
	 * Validates and durably stores a new revision of a state whose checksum is known.
	 * @param name the state's name
	 * @param checksummed the exact bytes with their SHA-256
	 * @param precondition the request's conditions
	 * @return the result
	 */
	public WriteResult put(String name, ChecksummedBody checksummed, Precondition precondition) {
		byte[] body = checksummed.bytes();
		return this.writes.write("put", name, precondition, (current) -> current.refuseIfDamaged(name),
				(entry, current, auditFields, validated) -> this.writes.store(name, checksummed, entry, current,
						auditFields, validated, precondition),
				() -> PendingValidation.start(this.validator::validate, checkSize(body), this.validation));
	}

	/**
	 * Stores a Terraform state as the Terraform endpoint does: the body must be a
	 * Terraform state whatever it claims, and the serial/lineage guard
	 * ({@link TerraformGuard}) runs under the state's lock.
	 * @param name the state's name
	 * @param checksummed the exact bytes with their SHA-256
	 * @param precondition the request's conditions (its lock id)
	 * @return the result; for a retried POST of the stored bytes, the stored revision
	 */
	public WriteResult putTerraform(String name, ChecksummedBody checksummed, Precondition precondition) {
		byte[] body = checksummed.bytes();
		TerraformState[] incoming = new TerraformState[1];
		return this.writes.write("put", name, precondition, (current) -> current.refuseIfDamaged(name),
				(entry, current, auditFields, validated) -> {
					WriteResult unchanged = TerraformGuard.check(name, incoming[0], body, current);
					return (unchanged != null) ? unchanged : this.writes.store(name, checksummed, entry, current,
							auditFields, validated, precondition);
				}, () -> {
					incoming[0] = this.validator.validateTerraform(checkSize(body));
					return PendingValidation.NONE;
				});
	}

	/**
	 * Applies a patch to the current revision under the state's writer lock, so that
	 * concurrent patches of different parts never need a retry and never lose each
	 * other's change. The result is validated like a PUT and stored as a new revision.
	 * @param name the state's name
	 * @param mediaType {@code application/json-patch+json} or
	 * {@code application/merge-patch+json}
	 * @param patchBody the patch document
	 * @param precondition the request's conditions
	 * @return the result
	 * @throws StateProblemException 400 for a malformed patch, 404 for no state, 409 when
	 * an operation cannot be applied (a failed {@code test}, a missing path), 422 when
	 * the result is not a state
	 */
	public WriteResult patch(String name, String mediaType, ChecksummedBody patchBody, Precondition precondition) {
		StatePatch[] patch = new StatePatch[1];
		return this.writes.write("patch", name, precondition, (current) -> current.refuseIfDamaged(name),
				(entry, current, auditFields, validated) -> {
					if (!current.live()) {
						throw notFound(name);
					}
					JsonNode document = StatePatch.parseJson(current.version().body(), "The stored state");
					byte[] patched = checkSize(StatePatch.MAPPER.writeValueAsBytes(patch[0].apply(document)));
					this.validator.validate(patched);
					return this.writes.store(name, ChecksummedBody.of(patched), entry, current, auditFields, validated,
							precondition);
				}, () -> {
					patch[0] = StatePatch.parse(mediaType, patchBody.bytes());
					return PendingValidation.NONE;
				});
	}

	private byte[] checkSize(byte[] body) {
		if (body.length > this.maxStateSize) {
			throw new StateProblemException(StateProblem.TOO_LARGE,
					"The state is " + body.length + " bytes; the maximum is " + this.maxStateSize);
		}
		return body;
	}

	/**
	 * Deletes a state as a writer: a tombstone becomes its current version; the history
	 * is kept.
	 * @param name the state's name
	 * @param precondition the request's conditions
	 */
	public void delete(String name, Precondition precondition) {
		delete(name, precondition, false);
	}

	/**
	 * Deletes a state: a tombstone becomes its current version; the history is kept. A
	 * damaged (held or unrecoverable) state can be deleted by an admin only, which clears
	 * it.
	 * @param name the state's name
	 * @param precondition the request's conditions
	 * @param admin whether the caller is an admin
	 */
	public void delete(String name, Precondition precondition, boolean admin) {
		this.writes.write("delete", name, precondition, (current) -> {
			if (current.condition() != Condition.OK && !admin) {
				throw new StateProblemException(StateProblem.ADMIN_REQUIRED, "The current version of '" + name
						+ "' is damaged (" + current.status() + "): only an admin may delete it or restore a version");
			}
		}, (entry, current, auditFields, validated) -> {
			if (!current.live() && current.condition() == Condition.OK) {
				throw notFound(name);
			}
			VersionHeader header = this.repository.delete(name, current.header(), entry.nextRevision(),
					this.clock.instant(), auditFields, LockFence.of(precondition.lockId()));
			entry.commit(new StoredVersion(header, new byte[0]));
			return new WriteResult(StateSummary.of(header), false);
		}, () -> PendingValidation.NONE);
	}

	/**
	 * Makes a kept revision current again, as a new revision, through the full write
	 * recipe. This is also how a held (damaged) state is brought back.
	 * @param name the state's name
	 * @param revision the revision to restore
	 * @param precondition the request's conditions
	 * @return the result
	 */
	public WriteResult restore(String name, long revision, Precondition precondition) {
		return this.writes.write("restore", name, precondition, (current) -> {
		}, (entry, current, auditFields, validated) -> {
			StoredVersion source = readRevision(entry, name, revision);
			VersionHeader header = this.repository.write(name, current.header(), entry.nextRevision(),
					ChecksummedBody.of(source.body()), this.clock.instant(), auditFields,
					LockFence.of(precondition.lockId()), () -> {
					});
			entry.commit(new StoredVersion(header, source.body()));
			logger.info("Restored revision {} of '{}' as revision {}", revision, name, header.revision());
			return new WriteResult(StateSummary.of(header), !current.live());
		}, () -> PendingValidation.NONE);
	}

	private static StateProblemException notFound(String name) {
		return new StateProblemException(StateProblem.NOT_FOUND, "No state named '" + name + "'");
	}

	/** The client locks, for {@link LockService}. */
	StateLocks locks() {
		return this.locks;
	}

	/** Stops the validation threads with the context (a write in flight finishes). */
	@Override
	public void close() {
		this.validation.shutdown();
	}

}
