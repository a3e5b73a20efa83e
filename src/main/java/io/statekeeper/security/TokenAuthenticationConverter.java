package io.statekeeper.security;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.web.authentication.AuthenticationConverter;

/**
 * Reads {@code Authorization: Bearer <secret>} or {@code Authorization: Basic
 * base64(<id>:<secret>)}; any other scheme, or none, leaves the request anonymous (and
 * the authorization rules then answer 401).
 */
final class TokenAuthenticationConverter implements AuthenticationConverter {

	@Override
	public TokenAuthentication convert(HttpServletRequest request) {
		String header = request.getHeader(HttpHeaders.AUTHORIZATION);
		if (header == null) {
			return null;
		}
		if (header.regionMatches(true, 0, "Bearer ", 0, 7)) {
			String secret = header.substring(7).strip();
			if (secret.isEmpty()) {
				throw new BadCredentialsException("Empty bearer token");
			}
			return TokenAuthentication.unauthenticated(null, secret);
		}
		if (header.regionMatches(true, 0, "Basic ", 0, 6)) {
			String decoded;
			try {
				decoded = new String(Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
			}
			catch (IllegalArgumentException ex) {
				throw new BadCredentialsException("Malformed Basic credentials");
			}
			int colon = decoded.indexOf(':');
			if (colon < 1) {
				throw new BadCredentialsException("Malformed Basic credentials");
			}
			return TokenAuthentication.unauthenticated(decoded.substring(0, colon), decoded.substring(colon + 1));
		}
		return null;
	}

}
