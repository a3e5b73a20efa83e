package io.statekeeper.state;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request refused for a reason the client can act on; nothing was changed on disk.
 */
public class StateProblemException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final StateProblem problem;

	private final transient Map<String, Object> properties;

	public StateProblemException(StateProblem problem, String detail) {
		this(problem, detail, Map.of());
	}

	public StateProblemException(StateProblem problem, String detail, Map<String, Object> properties) {
		super(detail);
		this.problem = problem;
		this.properties = Collections.unmodifiableMap(new LinkedHashMap<>(properties));
	}

	public StateProblem getProblem() {
		return this.problem;
	}

	/**
	 * Extra members of the problem body (RFC 9457 extensions).
	 * @return the members
	 */
	public Map<String, Object> getProperties() {
		return this.properties;
	}

}
