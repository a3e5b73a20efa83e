package io.statekeeper.storage;

import java.nio.file.Path;
import java.util.List;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Encryption at rest ({@code statekeeper.encryption.*}), off unless keys are configured.
 *
 * @param keys the keys: every key that ever encrypted a kept version must stay here
 * @param activeKey the id of the key new writes use
 */
@ConfigurationProperties("statekeeper.encryption")
@Validated
public record EncryptionProperties(@DefaultValue List<@Valid Key> keys, String activeKey) {

	/**
	 * One AES-256 key.
	 *
	 * @param id its name, written into each version header it encrypts
	 * @param file a file holding 32 random bytes in base64
	 * ({@code head -c 32 /dev/urandom |
	 * base64})
	 */
	public record Key(@NotNull @Pattern(regexp = "[A-Za-z0-9._-]{1,64}") String id, @NotNull Path file) {

	}

}
