package io.statekeeper.storage;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import io.statekeeper.audit.AuditChainCopy;

/**
 * {@code statekeeper copy <from> <to>}: moves states between engines with
 * {@link StoreCopy}. Each side is a data directory (the file store; the service must be
 * stopped, the copy takes its lock) or a JDBC URL ({@code jdbc:postgresql://…}, migrated
 * first). The rest is read as the service reads its configuration ({@code --name=value},
 * the environment, {@code application.yaml}): {@code spring.datasource.username} and
 * {@code .password} for the database, {@code statekeeper.encryption.*} to read and write
 * encrypted versions, {@code statekeeper.storage.on-corruption}.
 * <p>
 * The audit chain goes along ({@link AuditChainCopy}) into an empty chain of the target,
 * with {@code statekeeper.security.audit-key-file}'s key.
 * <p>
 * Exit status: 0 when every state was copied (or already there) and verified, 1 when the
 * target differs or a version did not read back, 2 for a usage error.
 */
public final class StoreCopyCommand {

	private StoreCopyCommand() {
	}

	/** A plain source for a context that only reads configuration. */
	static final class Settings {

	}

	public static int run(String[] args, PrintStream out) {
		List<String> stores = new ArrayList<>();
		List<String> options = new ArrayList<>();
		for (String arg : args) {
			(arg.startsWith("--") ? options : stores).add(arg);
		}
		if (stores.size() != 2 || stores.get(0).equals(stores.get(1))) {
			out.println("usage: statekeeper copy <from> <to> [--spring.datasource.username=… "
					+ "--spring.datasource.password=… --statekeeper.encryption.…]");
			out.println("  <from>, <to>: a data directory (the file store, stopped) or a JDBC URL "
					+ "(jdbc:postgresql://host:5432/db)");
			return 2;
		}
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(Settings.class)
			.web(WebApplicationType.NONE)
			.bannerMode(Banner.Mode.OFF)
			.logStartupInfo(false)
			.run(options.toArray(String[]::new))) {
			Binder binder = Binder.get(context.getEnvironment());
			StorageProperties storage = binder.bindOrCreate("statekeeper.storage", StorageProperties.class);
			StateCipher cipher = StateCipher
				.of(binder.bindOrCreate("statekeeper.encryption", EncryptionProperties.class));
			Side from = open(stores.get(0), storage, cipher, binder);
			try {
				Side to = open(stores.get(1), storage, cipher, binder);
				try {
					out.println("copying " + from.description + " to " + to.description);
					StoreCopy copy = new StoreCopy(from.repository, to.repository, out);
					StoreCopy.Result result = copy.run((target) -> to.reopen());
					if (from.repository.status().quarantined() > 0) {
						out.println("the source's damaged files were moved to its quarantine directory: "
								+ from.repository.status().quarantined());
					}
					out.println(AuditChainCopy.copy(from.audit, to.audit,
							binder.bind("statekeeper.security.audit-key-file", Path.class).orElse(null)));
					return result.complete() ? 0 : 1;
				}
				finally {
					to.close();
				}
			}
			finally {
				from.close();
			}
		}
	}

	private static Side open(String store, StorageProperties storage, StateCipher cipher, Binder binder) {
		// nothing pruned while copying: the service prunes to backups-kept at the next
		// write
		int keepAll = 1000;
		if (store.startsWith("jdbc:")) {
			HikariDataSource dataSource = DataSourceBuilder.create()
				.type(HikariDataSource.class)
				.url(store)
				.username(binder.bind("spring.datasource.username", String.class).orElse(null))
				.password(binder.bind("spring.datasource.password", String.class).orElse(null))
				.build();
			PostgresStorageConfiguration.migrate(dataSource);
			return new Side(store.replaceAll("//[^@/]*@", "//"),
					() -> new PostgresStateRepository(dataSource, properties(storage, Path.of("."), keepAll), cipher),
					dataSource, new AuditChainCopy.Side(null, dataSource));
		}
		Path dataDir = Path.of(store);
		return new Side(dataDir.toAbsolutePath().toString(),
				() -> new FileStateRepository(properties(storage, dataDir, keepAll), new StorageIo(), Clock.systemUTC(),
						new SimpleMeterRegistry(), cipher),
				null, new AuditChainCopy.Side(dataDir, null));
	}

	private static StorageProperties properties(StorageProperties base, Path dataDir, int backupsKept) {
		return new StorageProperties(dataDir, backupsKept, base.maxStateSize(), base.minFreeSpace(), base.lockTimeout(),
				base.onCorruption(), base.maxBodyMemory(), base.type());
	}

	/** One side of the copy: a store, opened (and opened again to verify). */
	private static final class Side implements AutoCloseable {

		private final String description;

		private final java.util.function.Supplier<StateRepository> opener;

		private final AutoCloseable pool;

		private final AuditChainCopy.Side audit;

		private StateRepository repository;

		Side(String description, java.util.function.Supplier<StateRepository> opener, AutoCloseable pool,
				AuditChainCopy.Side audit) {
			this.audit = audit;
			this.description = description;
			this.opener = opener;
			this.pool = pool;
			this.repository = opener.get();
		}

		/** The file store as a restart reads it; a shared store as it is. */
		StateRepository reopen() {
			if (!this.repository.shared()) {
				closeRepository();
				this.repository = this.opener.get();
			}
			return this.repository;
		}

		private void closeRepository() {
			if (this.repository instanceof AutoCloseable closeable) {
				try {
					closeable.close();
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
			}
		}

		@Override
		public void close() {
			closeRepository();
			if (this.pool != null) {
				try {
					this.pool.close();
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
			}
		}

	}

}
