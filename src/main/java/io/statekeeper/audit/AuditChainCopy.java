package io.statekeeper.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import io.statekeeper.storage.StorageIo;

/**
 * The audit part of {@code statekeeper copy}: every entry of one chain appended, in order
 * and with its members as they were, to an empty chain of the other engine, which numbers
 * and seals them anew ({@code seq}, {@code prev}, {@code hash}; with the same key). A
 * target whose chain is not empty is left as it is (a second run copies nothing); a
 * source chain that does not verify is not copied.
 */
public final class AuditChainCopy {

	/** The members each chain gives an entry itself. */
	private static final Set<String> SEALING = Set.of("seq", "prev", "mac", "hash");

	private AuditChainCopy() {
	}

	/**
	 * One side: a data directory's log, or the database's chain.
	 *
	 * @param dataDir the data directory (its {@code audit/}), or {@code null}
	 * @param dataSource the database, or {@code null}
	 */
	public record Side(Path dataDir, DataSource dataSource) {

		AuditStore open(AuditChain chain) {
			if (this.dataSource != null) {
				return new PostgresAuditLog(this.dataSource, chain, Duration.ofHours(1));
			}
			return new AuditLog(this.dataDir.toAbsolutePath().resolve("audit"), new StorageIo(), 64L << 20, 0, 0,
					Duration.ofHours(1), chain, () -> {
					});
		}

	}

	/**
	 * @param keyFile the chain's key ({@code statekeeper.security.audit-key-file}), or
	 * {@code null}
	 * @return one line for the operator
	 */
	public static String copy(Side from, Side to, Path keyFile) {
		AuditChain chain = new AuditChain(AuditTrail.key(keyFile, Path.of("/nonexistent-data-directory")));
		try (AuditStore source = from.open(chain); AuditStore target = to.open(chain)) {
			if (source.chainBreak() != null) {
				return "audit: the source's chain does not verify (" + source.chainBreak() + "); not copied";
			}
			if (target.entries() > 0) {
				return "audit: the target's chain already has " + target.entries() + " entries; left as it is";
			}
			long copied = 0;
			List<InputStream> files = source.openForReading();
			try {
				for (InputStream file : files) {
					BufferedReader lines = new BufferedReader(new InputStreamReader(file, StandardCharsets.UTF_8));
					for (String line = lines.readLine(); line != null; line = lines.readLine()) {
						Map<String, Object> entry = AuditChain.parse(line.getBytes(StandardCharsets.UTF_8));
						if (entry == null) {
							continue;
						}
						Map<String, Object> fields = new LinkedHashMap<>(entry);
						fields.keySet().removeAll(SEALING);
						target.append(fields);
						copied++;
					}
				}
			}
			finally {
				for (InputStream file : files) {
					file.close();
				}
			}
			target.sync(Long.MAX_VALUE);
			return "audit: copied " + copied + " entries into a new chain";
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot copy the audit chain", ex);
		}
	}

}
