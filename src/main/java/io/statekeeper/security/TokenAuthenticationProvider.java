package io.statekeeper.security;

import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;

/**
 * Checks a presented secret against the {@link TokenRegistry}; for Basic, the claimed id
 * must also be the token's.
 */
final class TokenAuthenticationProvider implements AuthenticationProvider {

	private final TokenRegistry registry;

	TokenAuthenticationProvider(TokenRegistry registry) {
		this.registry = registry;
	}

	@Override
	public Authentication authenticate(Authentication authentication) {
		TokenAuthentication presented = (TokenAuthentication) authentication;
		ApiToken token = this.registry.authenticate((String) presented.getCredentials())
			.filter((match) -> presented.claimedId() == null || presented.claimedId().equals(match.id()))
			.orElseThrow(() -> new BadCredentialsException("Unknown token"));
		return TokenAuthentication.authenticated(token);
	}

	@Override
	public boolean supports(Class<?> authentication) {
		return TokenAuthentication.class.isAssignableFrom(authentication);
	}

}
