package io.statekeeper.security;

import java.io.IOException;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.authorization.AuthorizationDecision;
import org.springframework.security.authorization.AuthorizationManager;
import org.springframework.security.authorization.AuthorizationResult;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.access.intercept.RequestAuthorizationContext;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.authentication.AuthenticationEntryPointFailureHandler;
import org.springframework.security.web.authentication.AuthenticationFilter;
import org.springframework.security.config.annotation.web.configuration.WebSecurityCustomizer;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.security.web.firewall.StrictHttpFirewall;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;

import io.statekeeper.audit.AuditTrail;
import io.statekeeper.security.SecurityProperties.Role;
import io.statekeeper.state.StateController;
import io.statekeeper.system.Problems;

/**
 * Who may do what on {@code /api/**} and {@code /terraform/**}. Tokens arrive as
 * {@code Authorization: Bearer} or HTTP Basic ({@link TokenAuthenticationConverter}), are
 * checked in constant time ({@link TokenRegistry}), and then:
 *
 * <table>
 * <tr>
 * <th>request</th>
 * <th>needs</th>
 * </tr>
 * <tr>
 * <td>{@code GET}, {@code HEAD}, {@code OPTIONS} of anything under {@code /api} and
 * {@code /terraform}</td>
 * <td>reader</td>
 * </tr>
 * <tr>
 * <td>every other method ({@code PUT}, {@code POST}, {@code DELETE}, {@code LOCK},
 * {@code UNLOCK}, and whatever comes next)</td>
 * <td>writer</td>
 * </tr>
 * <tr>
 * <td>{@code POST /api/v1/states/{name}/versions/{rev}/restore},
 * {@code /api/v1/audit}</td>
 * <td>admin</td>
 * </tr>
 * </table>
 *
 * Each role implies the ones below it; a token with {@code states} patterns is also
 * limited to the states they match, whatever the method or endpoint (the state is read
 * from the path, see {@link #stateOf}), and sees only those in the list and the audit
 * trail. 401 (with {@code WWW-Authenticate}) and 403 are problems; refused writes are
 * audited. Everything else (the OpenAPI document; the management port's health and
 * metrics) is open.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SecurityProperties.class)
class SecurityConfiguration {

	static final String CHALLENGE = "Bearer realm=\"statekeeper\", Basic realm=\"statekeeper\"";

	private static final RequestMatcher STATE_PATH = PathPatternRequestMatcher.withDefaults()
		.matcher("/api/v1/states/{name}/**");

	private static final RequestMatcher TERRAFORM_STATE_PATH = PathPatternRequestMatcher.withDefaults()
		.matcher("/terraform/states/{name}/**");

	/**
	 * The methods the firewall lets through: the standard ones, and WebDAV's {@code LOCK}
	 * and {@code UNLOCK}, which Terraform's http backend sends.
	 */
	static final java.util.List<String> METHODS = java.util.List.of("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH",
			"DELETE", "LOCK", "UNLOCK");

	private static final RequestMatcher AUDIT_PATH = PathPatternRequestMatcher.withDefaults().matcher("/api/v1/audit");

	/**
	 * No observations of Spring Security's own filters, authentications and
	 * authorizations: wrapping every filter of every request in an observation cost a
	 * quarter of the CPU of a small PUT (JFR); requests stay observed as
	 * {@code http.server.requests}, refusals as audit entries.
	 * @return the settings
	 */
	@Bean
	static SecurityObservationSettings securityObservationSettings() {
		return SecurityObservationSettings.noObservations();
	}

	@Bean
	TokenAuthenticationProvider tokenAuthenticationProvider(TokenRegistry registry) {
		return new TokenAuthenticationProvider(registry);
	}

	@Bean
	@Order(1)
	SecurityFilterChain apiSecurity(HttpSecurity http, TokenAuthenticationProvider provider, AuditTrail audit)
			throws Exception {
		AuthenticationEntryPoint entryPoint = (request, response, ex) -> unauthorized(request, response, ex, audit);
		AuthenticationFilter authentication = new AuthenticationFilter(new ProviderManager(provider),
				new TokenAuthenticationConverter());
		authentication.setSuccessHandler((request, response, result) -> {
			ApiToken token = ((TokenAuthentication) result).token();
			Predicate<String> scope = token::allows;
			request.setAttribute(StateController.SCOPE_ATTRIBUTE, scope);
		});
		authentication.setFailureHandler(new AuthenticationEntryPointFailureHandler(entryPoint));
		AccessDeniedHandler denied = (request, response, ex) -> {
			Authentication refused = SecurityContextHolder.getContext().getAuthentication();
			audit.refused(request, "forbidden",
					(refused instanceof TokenAuthentication token && token.isAuthenticated()) ? token.getName() : null);
			Problems.write(request, response, HttpStatus.FORBIDDEN, "forbidden", "Forbidden",
					"This token may not do this (role or state scope)", Map.of());
		};
		http.securityMatcher("/api/**", "/terraform/**")
			.csrf((csrf) -> csrf.disable())
			.httpBasic((basic) -> basic.disable())
			.formLogin((form) -> form.disable())
			.logout((logout) -> logout.disable())
			.requestCache((cache) -> cache.disable())
			.sessionManagement((session) -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
			.addFilterBefore(authentication, AnonymousAuthenticationFilter.class)
			.exceptionHandling(
					(exceptions) -> exceptions.authenticationEntryPoint(entryPoint).accessDeniedHandler(denied))
			.authorizeHttpRequests((requests) -> requests
				.requestMatchers(HttpMethod.POST, "/api/v1/states/{name}/versions/{revision}/restore")
				.access(role(Role.ADMIN))
				.requestMatchers("/api/v1/audit", "/api/v1/audit/**")
				.access(role(Role.ADMIN))
				.requestMatchers(HttpMethod.GET, "/api/**", "/terraform/**")
				.access(role(Role.READER))
				.requestMatchers(HttpMethod.HEAD, "/api/**", "/terraform/**")
				.access(role(Role.READER))
				.requestMatchers(HttpMethod.OPTIONS, "/api/**", "/terraform/**")
				.access(role(Role.READER))
				// every other method changes something: writer at least, whatever the
				// endpoint (so a new one is never open to readers by omission)
				.anyRequest()
				.access(role(Role.WRITER)));
		return http.build();
	}

	@Bean
	@Order(2)
	SecurityFilterChain openSecurity(HttpSecurity http) throws Exception {
		http.csrf((csrf) -> csrf.disable())
			.requestCache((cache) -> cache.disable())
			.sessionManagement((session) -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
			.authorizeHttpRequests((requests) -> requests.anyRequest().permitAll());
		return http.build();
	}

	/**
	 * Spring Security's strict firewall, letting {@link #METHODS} through.
	 */
	@Bean
	WebSecurityCustomizer firewall() {
		StrictHttpFirewall firewall = new StrictHttpFirewall();
		firewall.setAllowedHttpMethods(METHODS);
		return (web) -> web.httpFirewall(firewall);
	}

	/**
	 * Encoded slashes, dot segments, NUL and the like, refused by the firewall: a 400
	 * problem.
	 */
	@Bean
	RequestRejectedHandler requestRejectedHandler() {
		return (request, response, ex) -> Problems.write(request, response, HttpStatus.BAD_REQUEST, "request-rejected",
				"Request rejected", "The request URL is not allowed (encoded slash, dot segment, control character)",
				Map.of());
	}

	/**
	 * Requires a token with at least {@code role} and, for a request about a state, a
	 * token whose scope includes it. The state comes from the path itself
	 * ({@code /api/v1/states/{name}/**}, whatever the method or the endpoint) or from the
	 * {@code state} query parameter of the audit endpoint, never from the handler a rule
	 * names, so no method or endpoint can slip past the scope.
	 */
	static AuthorizationManager<RequestAuthorizationContext> role(Role role) {
		return new AuthorizationManager<>() {
			@Override
			public AuthorizationResult authorize(Supplier<? extends Authentication> authentication,
					RequestAuthorizationContext context) {
				if (!(authentication.get() instanceof TokenAuthentication token) || !token.isAuthenticated()) {
					return new AuthorizationDecision(false);
				}
				boolean allowed = token.token().roles().stream().anyMatch((held) -> held.ordinal() >= role.ordinal());
				String state = stateOf(context.getRequest());
				return new AuthorizationDecision(allowed && (state == null || token.token().allows(state)));
			}
		};
	}

	/**
	 * The state a request is about, {@code null} for none.
	 */
	static String stateOf(HttpServletRequest request) {
		for (RequestMatcher path : new RequestMatcher[] { STATE_PATH, TERRAFORM_STATE_PATH }) {
			RequestMatcher.MatchResult match = path.matcher(request);
			if (match.isMatch()) {
				return match.getVariables().get("name");
			}
		}
		return AUDIT_PATH.matches(request) ? request.getParameter("state") : null;
	}

	private static void unauthorized(HttpServletRequest request, HttpServletResponse response,
			AuthenticationException ex, AuditTrail audit) throws IOException {
		audit.refused(request, "unauthorized", null);
		Problems.write(request, response, HttpStatus.UNAUTHORIZED, "unauthorized", "Unauthorized",
				"A valid token is required: Authorization: Bearer <token>, or Basic with the token id and token",
				Map.of("WWW-Authenticate", CHALLENGE));
	}

}
