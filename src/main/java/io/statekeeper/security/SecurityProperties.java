package io.statekeeper.security;

import java.util.List;
import java.util.Set;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Security settings ({@code statekeeper.security.*}).
 *
 * @param tokens the API tokens; with none, the first start creates an admin token in
 * {@code <data-dir>/admin.token}
 * @param auditMaxFileSize the size at which the audit log is rotated (the hash chain goes
 * on in the next file)
 * @param auditFlushInterval how long a successful write's audit entry may wait for the
 * log's group commit (its fields are durable in the version header meanwhile)
 * @param auditMaxFiles how many rotated audit files to keep (0: all); older ones are
 * dropped once a state version's anchor covers them, and the chain records the drop
 * @param auditKeyFile a file holding the key (at least 32 random bytes in base64,
 * {@code head -c 32 /dev/urandom | base64}) that seals the audit chain with HMAC-SHA256;
 * it must live outside the data directory (a Kubernetes Secret, say). Unset: the chain is
 * plain SHA-256, which detects edits but not a rewrite by someone who can write the data
 * directory
 */
@ConfigurationProperties("statekeeper.security")
@Validated
public record SecurityProperties(@DefaultValue List<@Valid Token> tokens,
		@NotNull @DefaultValue("64MB") DataSize auditMaxFileSize,
		@NotNull @DefaultValue("100ms") java.time.Duration auditFlushInterval,
		@jakarta.validation.constraints.Min(0) @DefaultValue("16") int auditMaxFiles, java.nio.file.Path auditKeyFile) {

	/**
	 * One API token.
	 *
	 * @param id the token's name: the Basic user name, and who the audit log says acted
	 * @param secretSha256 lowercase hex SHA-256 of the secret
	 * ({@code printf %s "$TOKEN" |
	 * sha256sum}); the secret itself is never configured
	 * @param roles {@code reader}, {@code writer}, {@code admin} (each implies the ones
	 * before)
	 * @param states name patterns the token may touch ({@code *} matches any run of
	 * characters, e.g. {@code team-a-*}); empty for every state
	 */
	public record Token(@NotNull @Pattern(regexp = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") String id,
			@NotNull @Pattern(regexp = "[0-9a-f]{64}",
					message = "must be the lowercase hex SHA-256 of the token") String secretSha256,
			@NotEmpty Set<Role> roles, @DefaultValue List<@Pattern(regexp = "[A-Za-z0-9._*-]{1,128}") String> states) {

	}

	/**
	 * What a token may do. Each role implies the ones before it.
	 */
	public enum Role {

		/** List and read states and versions. */
		READER,

		/** Also PUT and DELETE. */
		WRITER,

		/**
		 * Also restore (which is how damaged states come back) and read the audit log.
		 */
		ADMIN

	}

}
