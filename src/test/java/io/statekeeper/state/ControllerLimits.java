package io.statekeeper.state;

import java.time.Duration;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The body reading {@link StateController} needs, for a web slice test that has no
 * {@code system} configuration: 1 MiB of body memory, the default pace.
 */
@TestConfiguration(proxyBeanMethods = false)
public class ControllerLimits {

	@Bean
	BodyMemory bodyMemory() {
		return new BodyMemory(1024 * 1024, Duration.ofSeconds(1));
	}

	@Bean
	BodyPace bodyPace() {
		return new BodyPace(Duration.ofSeconds(20), 64 * 1024);
	}

	@Bean
	StateBodies stateBodies(StateService service, BodyMemory bodyMemory, BodyPace bodyPace) {
		return new StateBodies(service, bodyMemory, bodyPace);
	}

}
