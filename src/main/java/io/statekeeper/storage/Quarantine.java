package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves damaged files aside, never deletes them:
 * {@code quarantine/<name>/<time>-<random>-<file>}, fsynced on both sides, counted and
 * logged at WARN.
 */
final class Quarantine {

	private static final Logger logger = LoggerFactory.getLogger(FileStateRepository.class);

	private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
		.withZone(ZoneOffset.UTC);

	private final StorageIo io;

	private final StoreLayout layout;

	private final Clock clock;

	private final StorageMeters meters;

	Quarantine(StorageIo io, StoreLayout layout, Clock clock, StorageMeters meters) {
		this.io = io;
		this.layout = layout;
		this.clock = clock;
		this.meters = meters;
	}

	/**
	 * Moves a damaged file of a state to quarantine.
	 * @param name the state
	 * @param file the file (its current version, or a kept one)
	 * @param problem what is wrong with it, for the log
	 */
	void move(String name, Path file, String problem) {
		Path target = null;
		try {
			Path dir = this.layout.quarantineDir().resolve(name);
			this.io.createDirectory(dir);
			boolean kept = file.getParent().getFileName().toString().equals(StoreLayout.VERSIONS);
			String kind = kept ? StoreLayout.VERSIONS + "-" + file.getFileName() : file.getFileName().toString();
			target = dir.resolve(STAMP.format(this.clock.instant()) + "-" + StoreLayout.randomSuffix() + "-" + kind);
			this.io.move(file, target);
			this.io.fsyncDirectory(dir);
			this.io.fsyncDirectory(file.getParent());
			if (kept) {
				this.meters.versionQuarantined();
			}
		}
		catch (IOException | RuntimeException ex) {
			logger.error("Could not move damaged file {} to quarantine: {}", file, ex.toString());
		}
		this.meters.quarantined();
		logger.warn("Damaged file {} ({}) moved to quarantine as {}", file, problem, target);
	}

}
