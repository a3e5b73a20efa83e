package io.statekeeper.state;

import java.util.ArrayList;
import java.util.List;

import io.statekeeper.storage.VersionHeader;

/**
 * The conditional headers of a write ({@code If-Match}, {@code If-None-Match}), parsed
 * per RFC 9110 and evaluated under the state's writer lock, so that check-and-write is
 * atomic. A state's entity tag is its revision in quotes: {@code "42"}.
 *
 * <p>
 * A write to a locked state also names the lock it holds ({@code Lock-Id} on the native
 * API, {@code ?ID=} on Terraform's): without it a locked state answers 423, and with an
 * id that is not the current holder's 409 ({@link StateLocks}).
 *
 * @param ifMatch the {@code If-Match} tags, {@code null} if absent
 * @param ifNoneMatch the {@code If-None-Match} tags, {@code null} if absent
 * @param lockId the lock id the writer holds, {@code null} if it names none
 */
public record Precondition(List<EntityTag> ifMatch, List<EntityTag> ifNoneMatch, String lockId) {

	/** No conditions. */
	public static final Precondition NONE = new Precondition(null, null, null);

	public Precondition(List<EntityTag> ifMatch, List<EntityTag> ifNoneMatch) {
		this(ifMatch, ifNoneMatch, null);
	}

	/**
	 * The same conditions, naming a lock.
	 * @param lockId the lock id, {@code null} or empty for none
	 * @return the precondition
	 */
	public Precondition withLock(String lockId) {
		return new Precondition(this.ifMatch, this.ifNoneMatch, (lockId == null || lockId.isEmpty()) ? null : lockId);
	}

	/**
	 * Parses the headers.
	 * @param ifMatch the {@code If-Match} value, or {@code null}
	 * @param ifNoneMatch the {@code If-None-Match} value, or {@code null}
	 * @return the precondition
	 * @throws StateProblemException (400) if a header is not a valid entity-tag list
	 */
	public static Precondition parse(String ifMatch, String ifNoneMatch) {
		return new Precondition(parseList("If-Match", ifMatch), parseList("If-None-Match", ifNoneMatch));
	}

	/**
	 * Whether a GET with these conditions may answer 304 (weak comparison).
	 * @param current the current version
	 * @return whether {@code If-None-Match} matches it
	 */
	boolean notModified(VersionHeader current) {
		return this.ifNoneMatch != null && matches(this.ifNoneMatch, current, false);
	}

	/**
	 * Checks a write's conditions against the current version.
	 * @param current the current version, or {@code null} if the state does not exist
	 * @throws StateProblemException (412) if a condition fails
	 */
	public void check(VersionHeader current) {
		if (this.ifMatch != null && (current == null || !matches(this.ifMatch, current, true))) {
			throw failed("If-Match", current);
		}
		if (this.ifNoneMatch != null && current != null && matches(this.ifNoneMatch, current, false)) {
			throw failed("If-None-Match", current);
		}
	}

	private static StateProblemException failed(String header, VersionHeader current) {
		String detail = (current != null) ? header + " does not hold for the current revision " + current.revision()
				: header + " requires an existing state, and there is none";
		return new StateProblemException(StateProblem.PRECONDITION_FAILED, detail,
				(current != null) ? java.util.Map.of("currentRevision", current.revision()) : java.util.Map.of());
	}

	private static boolean matches(List<EntityTag> tags, VersionHeader current, boolean strong) {
		String opaque = Long.toString(current.revision());
		for (EntityTag tag : tags) {
			if (tag.any() || (tag.opaque().equals(opaque) && !(strong && tag.weak()))) {
				return true;
			}
		}
		return false;
	}

	static List<EntityTag> parseList(String header, String value) {
		if (value == null) {
			return null;
		}
		String trimmed = value.strip();
		if (trimmed.equals("*")) {
			return List.of(EntityTag.ANY);
		}
		List<EntityTag> tags = new ArrayList<>();
		int i = 0;
		int n = trimmed.length();
		while (i < n) {
			boolean weak = trimmed.startsWith("W/", i);
			if (weak) {
				i += 2;
			}
			if (i >= n || trimmed.charAt(i) != '"') {
				throw invalid(header, value);
			}
			int close = trimmed.indexOf('"', i + 1);
			if (close < 0) {
				throw invalid(header, value);
			}
			String opaque = trimmed.substring(i + 1, close);
			for (int c = 0; c < opaque.length(); c++) {
				char ch = opaque.charAt(c);
				if (ch < 0x21 || ch == 0x7f || ch > 0xff) {
					throw invalid(header, value);
				}
			}
			tags.add(new EntityTag(weak, opaque, false));
			i = close + 1;
			while (i < n && (trimmed.charAt(i) == ' ' || trimmed.charAt(i) == '\t')) {
				i++;
			}
			if (i < n) {
				if (trimmed.charAt(i) != ',') {
					throw invalid(header, value);
				}
				i++;
				while (i < n && (trimmed.charAt(i) == ' ' || trimmed.charAt(i) == '\t')) {
					i++;
				}
				if (i >= n) {
					throw invalid(header, value);
				}
			}
		}
		if (tags.isEmpty()) {
			throw invalid(header, value);
		}
		return List.copyOf(tags);
	}

	private static StateProblemException invalid(String header, String value) {
		return new StateProblemException(StateProblem.INVALID_PRECONDITION,
				header + " must be * or a list of entity tags such as \"42\"");
	}

	/**
	 * One entity tag of a conditional header.
	 *
	 * @param weak whether it is weak ({@code W/"…"})
	 * @param opaque the quoted part
	 * @param any whether it is {@code *}
	 */
	public record EntityTag(boolean weak, String opaque, boolean any) {

		static final EntityTag ANY = new EntityTag(false, "*", true);

	}

}
