package io.statekeeper.security;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import io.statekeeper.security.SecurityProperties.Role;

/**
 * A configured token: who it is, what it may do, and which states.
 *
 * @param id its name
 * @param secretSha256 SHA-256 of its secret
 * @param roles its roles
 * @param states patterns of the state names it may touch; empty for all
 */
record ApiToken(String id, byte[] secretSha256, Set<Role> roles, List<Pattern> states) {

	static ApiToken of(SecurityProperties.Token token) {
		List<Pattern> patterns = token.states()
			.stream()
			.map((glob) -> Pattern.compile(Pattern.quote(glob).replace("*", "\\E.*\\Q")))
			.toList();
		return new ApiToken(token.id(), java.util.HexFormat.of().parseHex(token.secretSha256()),
				Set.copyOf(token.roles()), patterns);
	}

	boolean allows(String state) {
		return this.states.isEmpty() || this.states.stream().anyMatch((pattern) -> pattern.matcher(state).matches());
	}

}
