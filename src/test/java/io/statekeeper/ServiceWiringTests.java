package io.statekeeper;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.catalina.connector.Connector;
import org.junit.jupiter.api.Test;

import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The wired service on the shared context: the connector's settings, the management port
 * and what it serves, the OpenAPI document.
 */
class ServiceWiringTests extends SharedService {

	private static final byte[] STATE = "{\"version\":1,\"resources\":{},\"metadata\":{}}"
		.getBytes(StandardCharsets.UTF_8);

	private static double writes(MeterRegistry meters, String outcome, String reason) {
		Timer timer = meters.find("statekeeper.state.writes")
			.tags("operation", "put", "outcome", outcome, "reason", reason)
			.timer();
		return (timer != null) ? timer.count() : 0;
	}

	/**
	 * Bodies are read and written in 64 KiB chunks, and so connections are bounded: each
	 * holds both buffers.
	 */
	@Test
	void theApiConnectorUses64KiBBuffersAndBoundsConnections() {
		RunningService service = this.service;
		{
			WebServerApplicationContext context = (WebServerApplicationContext) service.context();
			Connector connector = ((TomcatWebServer) context.getWebServer()).getTomcat().getConnector();

			assertThat(connector.getProperty("socket.appReadBufSize")).hasToString("65536");
			assertThat(connector.getProperty("socket.appWriteBufSize")).hasToString("65536");
			assertThat(connector.getProperty("maxConnections")).hasToString("1024");
		}
	}

	@Test
	void theManagementPortServesHealthProbesAndPrometheusOnly() {
		RunningService service = this.service;
		{
			MeterRegistry meters = service.context().getBean(MeterRegistry.class);
			double succeeded = writes(meters, "success", "none");
			double notAState = writes(meters, "rejected", "not-a-state");
			String name = unique("wiring-");
			assertThat(service.put("/api/v1/states/" + name, STATE).statusCode()).isEqualTo(201);
			assertThat(service.put("/api/v1/states/" + name, "{}".getBytes()).statusCode()).isEqualTo(422);
			assertThat(writes(meters, "success", "none")).isEqualTo(succeeded + 1);
			assertThat(writes(meters, "rejected", "not-a-state")).isEqualTo(notAState + 1);

			String readiness = service.managementGet("/actuator/health/readiness");
			assertThat(readiness).contains("\"status\":\"UP\"").contains("\"storage\"").contains("\"lockHeld\":true");
			String liveness = service.managementGet("/actuator/health/liveness");
			assertThat(liveness).contains("\"status\":\"UP\"").doesNotContain("storage");

			String prometheus = service.managementGet("/actuator/prometheus");
			assertThat(prometheus).contains(
					"statekeeper_state_writes_seconds_count{operation=\"put\",outcome=\"success\",reason=\"none\"} ")
				.contains(
						"statekeeper_state_writes_seconds_count{operation=\"put\",outcome=\"rejected\",reason=\"not-a-state\"} ")
				.contains("statekeeper_state_writes_latency_seconds_bucket{operation=\"put\"")
				.doesNotContain("statekeeper_state_writes_seconds_bucket")
				// every series an alert reads is there before its first event
				.contains(
						"statekeeper_state_writes_seconds_count{operation=\"restore\",outcome=\"failed\",reason=\"io-error\"} 0")
				.contains("statekeeper_storage_recoveries_total{outcome=\"unrecoverable\"} 0.0")
				.contains("statekeeper_states ")
				.contains("statekeeper_state_backups ")
				.contains("statekeeper_state_size_bytes_count ")
				.contains("statekeeper_bodies_memory_reserved_bytes 0.0")
				// what the dashboard reads beyond our own meters
				.contains("http_server_requests_seconds_count{", "jvm_memory_used_bytes{area=\"heap\"",
						"jvm_memory_max_bytes{area=\"heap\"", "process_cpu_usage", "statekeeper_audit_chain_intact",
						"statekeeper_audit_failures_total", "statekeeper_security_refusals_total")
				.contains("statekeeper_locks_held ", "statekeeper_locks_expired ",
						"statekeeper_locks_total{outcome=\"acquired\"}",
						"statekeeper_locks_held_duration_seconds_count")
				.doesNotContain(name);

			// the port is open: no path, no state name; disk space is the data
			// directory's
			String health = service.managementGet("/actuator/health");
			assertThat(health).contains("\"diskSpace\":{\"details\":{\"free\":", "\"threshold\":")
				.doesNotContain(System.getProperty("user.dir"))
				.doesNotContain("target/shared-service")
				.doesNotContain(name);
			// the probes answer on the API port too, without a token
			assertThat(service.sendRaw(java.net.http.HttpRequest.newBuilder(service.api("/readyz"))).statusCode())
				.isEqualTo(200);
			assertThat(service.sendRaw(java.net.http.HttpRequest.newBuilder(service.api("/livez"))).statusCode())
				.isEqualTo(200);
			assertThat(service.managementGet("/actuator/info")).contains("\"build\"")
				.contains("\"artifact\":\"statekeeper\"")
				.contains("\"git\"");
			assertThat(service.send(HttpRequest.newBuilder(service.management("/actuator/env"))).statusCode())
				.isEqualTo(404);
			assertThat(service.get("/actuator/health").statusCode()).isEqualTo(404);
		}
	}

}
