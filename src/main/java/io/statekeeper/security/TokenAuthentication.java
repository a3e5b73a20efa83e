package io.statekeeper.security;

import java.util.List;

import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/**
 * A request's credentials and, once checked, the token they belong to. Presented as
 * {@code Authorization: Bearer <secret>}, or as HTTP Basic with the token id as user name
 * and the secret as password (for clients that only speak Basic).
 */
final class TokenAuthentication extends AbstractAuthenticationToken {

	private static final long serialVersionUID = 1L;

	private final transient ApiToken token;

	private final String claimedId;

	private final String secret;

	private TokenAuthentication(ApiToken token, String claimedId, String secret) {
		super((token != null)
				? token.roles().stream().map((role) -> new SimpleGrantedAuthority("ROLE_" + role.name())).toList()
				: List.of());
		this.token = token;
		this.claimedId = claimedId;
		this.secret = secret;
		setAuthenticated(token != null);
	}

	static TokenAuthentication unauthenticated(String claimedId, String secret) {
		return new TokenAuthentication(null, claimedId, secret);
	}

	static TokenAuthentication authenticated(ApiToken token) {
		return new TokenAuthentication(token, token.id(), null);
	}

	ApiToken token() {
		return this.token;
	}

	/** The id a Basic client claimed, or {@code null} for a bearer token. */
	String claimedId() {
		return this.claimedId;
	}

	@Override
	public Object getCredentials() {
		return this.secret;
	}

	@Override
	public Object getPrincipal() {
		return (this.token != null) ? this.token.id() : this.claimedId;
	}

	@Override
	public String getName() {
		return (this.token != null) ? this.token.id() : String.valueOf(this.claimedId);
	}

}
