package io.statekeeper.state;

import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

/**
 * Who is making the current request: the one place the write log line and the audit trail
 * ask.
 */
public final class Caller {

	private Caller() {
	}

	/**
	 * The id of the token the current request authenticated with.
	 * @return the token id, or {@code null} without one (start-up, an anonymous request)
	 */
	public static String token() {
		Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
		return (authentication != null && authentication.isAuthenticated()
				&& !(authentication instanceof AnonymousAuthenticationToken)) ? authentication.getName() : null;
	}

}
