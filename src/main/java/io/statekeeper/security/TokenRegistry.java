package io.statekeeper.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import io.statekeeper.security.SecurityProperties.Role;
import io.statekeeper.storage.DurableFiles;
import io.statekeeper.storage.Sha256;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;

/**
 * The API tokens, and the one place a presented secret is checked. Only SHA-256 digests
 * of secrets are held; a presented secret is hashed and compared with
 * {@link MessageDigest#isEqual} (constant time) against every token, without stopping at
 * a match, so neither the comparison nor the loop leaks which token or how much matched.
 * <p>
 * With no token configured, the first start creates an admin token in
 * {@code <data-dir>/admin.token} (mode 0600) and logs the file's path, never the token.
 */
@Component
class TokenRegistry {

	static final String ADMIN_TOKEN_FILE = "admin.token";

	private static final Logger logger = LoggerFactory.getLogger(TokenRegistry.class);

	private final List<ApiToken> tokens;

	TokenRegistry(SecurityProperties security, StorageProperties storage, StorageIo io) {
		if (security.tokens().isEmpty()) {
			String secret = adminSecret(storage.dataDir().toAbsolutePath().normalize(), io);
			this.tokens = List.of(new ApiToken("admin", sha256(secret), Set.of(Role.ADMIN), List.of()));
		}
		else {
			this.tokens = security.tokens().stream().map(ApiToken::of).toList();
		}
	}

	/**
	 * The token a secret belongs to.
	 * @param secret the presented secret
	 * @return the token, if any
	 */
	Optional<ApiToken> authenticate(String secret) {
		byte[] presented = sha256(secret);
		ApiToken match = null;
		for (ApiToken token : this.tokens) {
			if (MessageDigest.isEqual(presented, token.secretSha256())) {
				match = token;
			}
		}
		return Optional.ofNullable(match);
	}

	static byte[] sha256(String secret) {
		return Sha256.of(secret.getBytes(StandardCharsets.UTF_8));
	}

	private static String adminSecret(Path dataDir, StorageIo io) {
		Path file = dataDir.resolve(ADMIN_TOKEN_FILE);
		try {
			if (Files.exists(file)) {
				String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
				if (secret.length() < 32) {
					throw new IllegalStateException("The admin token in " + file + " is shorter than 32 characters");
				}
				logger.info("No API token configured: using the admin token in {}", file);
				return secret;
			}
			byte[] random = new byte[32];
			new SecureRandom().nextBytes(random);
			String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
			if (dataDir.getParent() != null) {
				Files.createDirectories(dataDir.getParent());
			}
			io.createDirectory(dataDir);
			DurableFiles.replace(io, file, (secret + "\n").getBytes(StandardCharsets.UTF_8));
			logger.warn("No API token configured: created an admin token in {} (mode 0600). "
					+ "Configure statekeeper.security.tokens for real use.", file);
			return secret;
		}
		catch (IOException ex) {
			throw new IllegalStateException("Cannot read or create the admin token in " + file + ": " + ex, ex);
		}
	}

}
