package io.statekeeper.storage;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import org.flywaydb.core.Flyway;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.jdbc.autoconfigure.DataSourceProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The PostgreSQL engine, only with {@code statekeeper.storage.type=postgresql}: a
 * HikariCP pool built by Spring Boot from {@code spring.datasource.*} (and
 * {@code spring.datasource.hikari.*}), which Boot's pool meters and {@code db} health
 * pick up, and the Flyway migrations of {@code db/migration/postgresql}, applied before
 * the repository takes its first request.
 * <p>
 * Boot's own DataSource and Flyway auto-configurations are excluded in
 * {@code application.yaml}: they would need a database in file mode too. The beans here
 * are the ones Boot documents for a DataSource of one's own.
 * <p>
 * A replica that finds a migration it does not know (applied by a newer release) refuses
 * to start: Flyway's default would ignore such "future" migrations and run an old release
 * on a newer schema.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(prefix = "statekeeper.storage", name = "type", havingValue = "postgresql")
class PostgresStorageConfiguration {

	static final String MIGRATIONS = "classpath:db/migration/postgresql";

	@Bean
	@ConfigurationProperties("spring.datasource")
	DataSourceProperties dataSourceProperties() {
		return new DataSourceProperties();
	}

	@Bean
	@ConfigurationProperties("spring.datasource.hikari")
	HikariDataSource dataSource(DataSourceProperties properties) {
		HikariDataSource dataSource = properties.initializeDataSourceBuilder().type(HikariDataSource.class).build();
		dataSource.setPoolName("statekeeper");
		return dataSource;
	}

	@Bean
	PostgresStateRepository postgresStateRepository(HikariDataSource dataSource, StorageProperties properties,
			StateCipher cipher, MeterRegistry registry) {
		migrate(dataSource);
		return new PostgresStateRepository(dataSource, properties, cipher).withMeters(registry);
	}

	/**
	 * Applies the migrations this release knows; refuses a schema it does not know.
	 * @param dataSource the database
	 */
	static void migrate(javax.sql.DataSource dataSource) {
		Flyway.configure()
			.dataSource(dataSource)
			.locations(MIGRATIONS)
			.ignoreMigrationPatterns("")
			.validateOnMigrate(true)
			.load()
			.migrate();
	}

}
