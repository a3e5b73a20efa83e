package io.statekeeper.system;

import java.time.Clock;

import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.statekeeper.storage.EncryptionProperties;
import io.statekeeper.storage.StateCipher;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;

/**
 * Cross-cutting beans: the clock, the storage seam and typed configuration.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({ StorageProperties.class, EncryptionProperties.class })
class SystemConfiguration {

	@Bean
	Clock clock() {
		return Clock.systemUTC();
	}

	@Bean
	StateCipher stateCipher(EncryptionProperties encryption) {
		return StateCipher.of(encryption);
	}

	@Bean
	@ConditionalOnMissingBean
	StorageIo storageIo() {
		return new StorageIo();
	}

}
