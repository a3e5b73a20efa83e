package io.statekeeper.system;

import java.time.Duration;

import jakarta.validation.constraints.NotNull;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * What the API port allows a slow client ({@code statekeeper.http.*}), so that slow or
 * stalled clients cannot hold connections and body memory for long.
 *
 * @param headerTimeout a request's line and headers must all arrive within this, from
 * their first byte; a connection still sending them then is closed (Tomcat's own
 * {@code connection-timeout} only bounds the pause between two bytes)
 * @param bodyTimeout how long a body may take before it must keep up {@code bodyMinRate}
 * @param bodyMinRate bytes per second a body must average after {@code bodyTimeout}; a
 * slower one is refused with 408 and its connection closed
 */
@ConfigurationProperties("statekeeper.http")
@Validated
record HttpProperties(@NotNull @DefaultValue("10s") Duration headerTimeout,
		@NotNull @DefaultValue("20s") Duration bodyTimeout, @NotNull @DefaultValue("64KB") DataSize bodyMinRate) {

	HttpProperties {
		if (headerTimeout != null && (headerTimeout.isNegative() || headerTimeout.isZero())) {
			throw new IllegalArgumentException(
					"statekeeper.http.header-timeout must be positive, was " + headerTimeout);
		}
		if (bodyTimeout != null && (bodyTimeout.isNegative() || bodyTimeout.isZero())) {
			throw new IllegalArgumentException("statekeeper.http.body-timeout must be positive, was " + bodyTimeout);
		}
	}

}
