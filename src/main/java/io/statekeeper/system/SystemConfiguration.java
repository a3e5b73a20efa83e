package io.statekeeper.system;

import java.time.Clock;

import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import io.statekeeper.state.BodyMemory;
import io.statekeeper.state.BodyPace;
import io.statekeeper.storage.EncryptionProperties;
import io.statekeeper.storage.StateCipher;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.state.LockProperties;
import io.statekeeper.storage.StorageProperties;

/**
 * Cross-cutting beans: the clock, the storage seam and typed configuration.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({ StorageProperties.class, EncryptionProperties.class, HttpProperties.class,
		LockProperties.class })
class SystemConfiguration {

	@Bean
	@ConditionalOnMissingBean
	Clock clock() {
		return Clock.systemUTC();
	}

	@Bean
	StateCipher stateCipher(EncryptionProperties encryption) {
		return StateCipher.of(encryption);
	}

	@Bean
	BodyMemory bodyMemory(StorageProperties storage, MeterRegistry registry) {
		long limit = (storage.maxBodyMemory() != null) ? storage.maxBodyMemory().toBytes()
				: BodyMemory.defaultLimit(storage.maxStateSize().toBytes());
		// bodies validated inline (under 64 KiB) reserve nothing: a small PUT never
		// waits behind large ones
		BodyMemory memory = new BodyMemory(limit, BodyMemory.defaultPerClient(limit, storage.maxStateSize().toBytes()),
				64 * 1024, storage.lockTimeout());
		Gauge.builder("statekeeper.bodies.memory.reserved", memory, BodyMemory::reserved)
			.description("Bytes of request bodies being received and written")
			.baseUnit("bytes")
			.register(registry);
		Gauge.builder("statekeeper.bodies.memory.limit", memory, BodyMemory::limit)
			.description("Bytes of request bodies held at once (statekeeper.storage.max-body-memory)")
			.baseUnit("bytes")
			.register(registry);
		return memory;
	}

	@Bean
	SlowHeaderGuard slowHeaderGuard(HttpProperties http, MeterRegistry registry) {
		return new SlowHeaderGuard(http, registry);
	}

	@Bean
	BodyPace bodyPace(HttpProperties http) {
		return new BodyPace(http.bodyTimeout(), http.bodyMinRate().toBytes());
	}

	@Bean
	@ConditionalOnMissingBean
	StorageIo storageIo() {
		return new StorageIo();
	}

}
