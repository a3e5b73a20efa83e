package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.storage.FileStateRepository;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.StorageTestSupport;
import io.statekeeper.storage.StoredVersion;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sixteen writers doing read-modify-write with {@code If-Match} on one state lose no
 * update, while reader threads, never blocked, only ever see complete versions whose
 * bytes match their checksum and whose revisions only grow.
 */
@Tag("reliability")
class ConcurrencyIT {

	@TempDir
	Path dataDir;

	@Test
	void sixteenWritersWithIfMatchLoseNoUpdateWhileReadersSeeOnlyWholeVersions() throws Exception {
		StorageProperties properties = StorageTestSupport.properties(this.dataDir);
		FileStateRepository repository = new FileStateRepository(properties, new StorageIo(), Clock.systemUTC(),
				new SimpleMeterRegistry());
		try {
			StateService service = new StateService(repository, new StateValidator(properties), properties,
					Clock.systemUTC(), new SimpleMeterRegistry(), (event) -> {
					});
			service.put("shared", Counters.state(0), Precondition.NONE);
			int writers = 16;
			int increments = 25;
			ExecutorService pool = Executors.newFixedThreadPool(writers + 4);
			AtomicBoolean writing = new AtomicBoolean(true);
			List<Future<Long>> readers = new ArrayList<>();
			for (int r = 0; r < 4; r++) {
				readers.add(pool.submit(() -> {
					long reads = 0;
					long lastRevision = 0;
					MessageDigest sha = MessageDigest.getInstance("SHA-256");
					while (writing.get() || reads == 0) {
						StoredVersion version = service.get("shared");
						assertThat(HexFormat.of().formatHex(sha.digest(version.body())))
							.isEqualTo(version.header().sha256());
						assertThat(version.header().revision()).isGreaterThanOrEqualTo(lastRevision);
						assertThat(Counters.of(version.body())).isEqualTo(version.header().revision() - 1);
						lastRevision = version.header().revision();
						reads++;
					}
					return reads;
				}));
			}
			List<Future<?>> workers = new ArrayList<>();
			for (int w = 0; w < writers; w++) {
				workers.add(pool.submit(() -> {
					for (int done = 0; done < increments;) {
						StoredVersion current = service.get("shared");
						try {
							service.put("shared", Counters.state(Counters.of(current.body()) + 1),
									Precondition.parse("\"" + current.header().revision() + "\"", null));
							done++;
						}
						catch (StateProblemException ex) {
							assertThat(ex.getProblem()).isEqualTo(StateProblem.PRECONDITION_FAILED);
						}
					}
					return null;
				}));
			}
			for (Future<?> worker : workers) {
				worker.get(5, TimeUnit.MINUTES);
			}
			writing.set(false);
			long reads = 0;
			for (Future<Long> reader : readers) {
				reads += reader.get(1, TimeUnit.MINUTES);
			}
			pool.shutdown();
			assertThat(Counters.of(service.get("shared").body())).isEqualTo(writers * increments);
			System.out.println("RELIABILITY concurrency writers=" + writers + " updates=" + (writers * increments)
					+ " lost=0 reads=" + reads + " torn=0");
		}
		finally {
			repository.close();
		}
	}

}
