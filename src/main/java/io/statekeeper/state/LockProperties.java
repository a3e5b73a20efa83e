package io.statekeeper.state;

import java.time.Duration;

import jakarta.validation.constraints.NotNull;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Client locks ({@code statekeeper.locks.*}).
 *
 * @param lease how long a lock lasts without its holder writing: every write by the
 * holder renews it. An expired lock stays its holder's until another client locks the
 * state; from then on the old holder is fenced.
 */
@ConfigurationProperties("statekeeper.locks")
@Validated
public record LockProperties(@NotNull @DefaultValue("2h") Duration lease) {

	/** The defaults, for services built without Spring. */
	public static final LockProperties DEFAULT = new LockProperties(Duration.ofHours(2));

	public LockProperties {
		if (lease != null && (lease.isNegative() || lease.isZero())) {
			throw new IllegalArgumentException("statekeeper.locks.lease must be positive");
		}
	}

}
