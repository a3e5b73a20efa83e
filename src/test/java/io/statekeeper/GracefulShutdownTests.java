package io.statekeeper;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.storage.FaultyStorageIo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Shutting down (SIGTERM in Kubernetes) lets a write that is in flight finish and be
 * acknowledged, while no new request is taken.
 */
class GracefulShutdownTests {

	@TempDir
	Path dataDir;

	@Test
	void anInFlightWriteFinishesAndIsAcknowledgedDuringShutdown() throws Exception {
		byte[] second = "{\"version\":2,\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.UTF_8);
		FaultyStorageIo io = new FaultyStorageIo();
		CountDownLatch entered = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		RunningService service = RunningService.start(this.dataDir, io);
		assertThat(service.put("/api/v1/states/prod", "{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes())
			.statusCode()).isEqualTo(201);

		io.holdNext(FaultyStorageIo.Op.FORCE, entered, release);
		HttpClient client = HttpClient.newHttpClient();
		CompletableFuture<HttpResponse<String>> inFlight = client
			.sendAsync(HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
				.header("Authorization", RunningService.BEARER)
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(second))
				.build(), HttpResponse.BodyHandlers.ofString());
		assertThat(entered.await(1, TimeUnit.MINUTES)).isTrue();

		CompletableFuture<Void> shutdown = CompletableFuture.runAsync(service::close);
		// shutdown waits for the write; new requests are not taken meanwhile
		await().atMost(Duration.ofSeconds(30)).until(() -> refused(service));
		assertThat(shutdown).isNotDone();
		assertThat(inFlight).isNotDone();

		release.countDown();
		HttpResponse<String> response = inFlight.get(1, TimeUnit.MINUTES);
		assertThat(response.statusCode()).isEqualTo(200);
		assertThat(response.headers().firstValue("ETag")).hasValue("\"2\"");
		shutdown.get(1, TimeUnit.MINUTES);

		try (RunningService restarted = RunningService.start(this.dataDir)) {
			assertThat(restarted.get("/api/v1/states/prod").body()).isEqualTo(second);
		}
	}

	private static boolean refused(RunningService service) {
		try {
			HttpResponse<byte[]> response = HttpClient.newBuilder()
				.connectTimeout(Duration.ofSeconds(1))
				.build()
				.send(HttpRequest.newBuilder(service.api("/api/v1/states")).timeout(Duration.ofSeconds(1)).build(),
						HttpResponse.BodyHandlers.ofByteArray());
			return response.statusCode() == 503;
		}
		catch (IOException ex) {
			return true;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
	}

}
