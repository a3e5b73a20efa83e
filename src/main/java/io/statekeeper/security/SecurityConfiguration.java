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
import org.springframework.security.web.firewall.RequestRejectedHandler;

import io.statekeeper.security.SecurityProperties.Role;
import io.statekeeper.state.StateController;
import io.statekeeper.system.Problems;

/**
 * Who may do what on {@code /api/**}. Tokens arrive as {@code Authorization: Bearer} or
 * HTTP Basic ({@link TokenAuthenticationConverter}), are checked in constant time
 * ({@link TokenRegistry}), and then:
 *
 * <table>
 * <tr>
 * <th>request</th>
 * <th>needs</th>
 * </tr>
 * <tr>
 * <td>{@code GET /api/v1/states}, {@code GET /api/v1/states/{name}/**}</td>
 * <td>reader</td>
 * </tr>
 * <tr>
 * <td>{@code PUT, DELETE /api/v1/states/{name}}</td>
 * <td>writer</td>
 * </tr>
 * <tr>
 * <td>{@code POST /api/v1/states/{name}/versions/{rev}/restore},
 * {@code GET /api/v1/audit}</td>
 * <td>admin</td>
 * </tr>
 * </table>
 *
 * Each role implies the ones below it; a token with {@code states} patterns is also
 * limited to the states they match (and sees only those in the list). 401 (with
 * {@code WWW-Authenticate}) and 403 are problems; refused writes are audited. Everything
 * else (the OpenAPI document; the management port's health and metrics) is open.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SecurityProperties.class)
class SecurityConfiguration {

	static final String CHALLENGE = "Bearer realm=\"statekeeper\", Basic realm=\"statekeeper\"";

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
			audit.refused(request, "forbidden", SecurityContextHolder.getContext().getAuthentication());
			Problems.write(request, response, HttpStatus.FORBIDDEN, "forbidden", "Forbidden",
					"This token may not do this (role or state scope)", Map.of());
		};
		http.securityMatcher("/api/**")
			.csrf((csrf) -> csrf.disable())
			.httpBasic((basic) -> basic.disable())
			.formLogin((form) -> form.disable())
			.logout((logout) -> logout.disable())
			.requestCache((cache) -> cache.disable())
			.sessionManagement((session) -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
			.addFilterBefore(authentication, AnonymousAuthenticationFilter.class)
			.exceptionHandling(
					(exceptions) -> exceptions.authenticationEntryPoint(entryPoint).accessDeniedHandler(denied))
			.authorizeHttpRequests((requests) -> requests.requestMatchers(HttpMethod.GET, "/api/v1/audit")
				.access(role(Role.ADMIN))
				.requestMatchers(HttpMethod.GET, "/api/v1/states")
				.access(role(Role.READER))
				.requestMatchers(HttpMethod.POST, "/api/v1/states/{name}/versions/{revision}/restore")
				.access(role(Role.ADMIN))
				.requestMatchers(HttpMethod.PUT, "/api/v1/states/{name}")
				.access(role(Role.WRITER))
				.requestMatchers(HttpMethod.DELETE, "/api/v1/states/{name}")
				.access(role(Role.WRITER))
				.requestMatchers(HttpMethod.GET, "/api/v1/states/{name}", "/api/v1/states/{name}/**")
				.access(role(Role.READER))
				.requestMatchers(HttpMethod.HEAD, "/api/v1/states/{name}")
				.access(role(Role.READER))
				.anyRequest()
				.access(role(Role.READER)));
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
	 * Requires a token with at least {@code role}; for a {@code {name}} in the path, also
	 * a token whose scope includes that state.
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
				String state = context.getVariables().get("name");
				return new AuthorizationDecision(allowed && (state == null || token.token().allows(state)));
			}
		};
	}

	private static void unauthorized(HttpServletRequest request, HttpServletResponse response,
			AuthenticationException ex, AuditTrail audit) throws IOException {
		audit.refused(request, "unauthorized", null);
		Problems.write(request, response, HttpStatus.UNAUTHORIZED, "unauthorized", "Unauthorized",
				"A valid token is required: Authorization: Bearer <token>, or Basic with the token id and token",
				Map.of("WWW-Authenticate", CHALLENGE));
	}

}
