package io.statekeeper.storage;

import java.util.regex.Pattern;

/**
 * The one rule for a state's name, {@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}}: safe as a
 * directory name and in a URL path, never {@code .} or {@code ..}. The web layer checks
 * it first (a 400 problem); every engine checks it again as the last line of defence.
 */
public final class StateName {

	private static final Pattern RULE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

	/** What the rule says, for messages. */
	public static final String DESCRIPTION = "1 to 128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit";

	private StateName() {
	}

	/**
	 * @param name a name, or {@code null}
	 * @return whether it is a valid state name
	 */
	public static boolean isValid(String name) {
		return name != null && RULE.matcher(name).matches();
	}

	/**
	 * @param name a name
	 * @return the name
	 * @throws IllegalArgumentException if it is not valid
	 */
	static String require(String name) {
		if (!isValid(name)) {
			throw new IllegalArgumentException("Invalid state name");
		}
		return name;
	}

}
