package io.statekeeper.system;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.coyote.AbstractProcessor;
import org.apache.coyote.Request;
import org.apache.coyote.http11.Http11NioProtocol;
import org.apache.tomcat.util.net.AbstractEndpoint;
import org.apache.tomcat.util.net.SocketEvent;
import org.apache.tomcat.util.net.SocketWrapperBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;

import io.statekeeper.storage.DaemonThreads;

/**
 * Closes connections whose request line and headers are not complete within
 * {@code statekeeper.http.header-timeout} of their first byte. Tomcat only bounds the
 * pause between two bytes ({@code connection-timeout}), so a client sending one header
 * byte every few seconds held its connection, and about a thousand of them took every
 * slot of {@code max-connections}: no real request got in. Twice a second this looks at
 * the API connector's open connections; one still parsing its headers past the deadline
 * is handed to Tomcat as a failed read, exactly as Tomcat ends a read timeout, and
 * counted ({@code statekeeper.http.dropped{reason=slow-headers}}). Also the gauges of
 * connections open and allowed, so that saturation shows.
 */
public class SlowHeaderGuard implements DisposableBean {

	private static final Logger logger = LoggerFactory.getLogger(SlowHeaderGuard.class);

	private final long deadlineNanos;

	private final CopyOnWriteArrayList<Protocol> protocols = new CopyOnWriteArrayList<>();

	private final ScheduledExecutorService sweeper = Executors
		.newSingleThreadScheduledExecutor(DaemonThreads.named("slow-header-guard"));

	private final Counter dropped;

	/**
	 * Connections already handed to Tomcat to close (weakly held: Tomcat recycles them).
	 */
	private final java.util.Set<SocketWrapperBase<?>> handedOver = java.util.Collections
		.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));

	SlowHeaderGuard(HttpProperties properties, MeterRegistry registry) {
		this.deadlineNanos = properties.headerTimeout().toNanos();
		this.dropped = Counter.builder("statekeeper.http.dropped")
			.description("Connections closed for sending their request headers too slowly")
			.tag("reason", "slow-headers")
			.register(registry);
		Gauge.builder("statekeeper.http.connections", this, SlowHeaderGuard::connections)
			.description("Connections open on the API port")
			.register(registry);
		Gauge.builder("statekeeper.http.connections.max", this, SlowHeaderGuard::maxConnections)
			.description("Connections the API port accepts at once (server.tomcat.max-connections)")
			.register(registry);
		this.sweeper.scheduleWithFixedDelay(this::sweep, 500, 500, TimeUnit.MILLISECONDS);
	}

	/**
	 * Watches a connector's protocol (the API port's).
	 * @param protocol its protocol handler
	 */
	void watch(Protocol protocol) {
		this.protocols.add(protocol);
	}

	void sweep() {
		long now = System.nanoTime();
		for (Protocol protocol : this.protocols) {
			AbstractEndpoint<?, ?> endpoint = protocol.endpoint();
			try {
				for (SocketWrapperBase<?> connection : endpoint.getConnections()) {
					// handed over once: Tomcat closes it on its own thread, maybe after
					// the next sweep
					if (!connection.isClosed() && tooSlow(connection, now) && this.handedOver.add(connection)) {
						this.dropped.increment();
						logger.debug("Closing a connection whose headers took longer than {} ms",
								this.deadlineNanos / 1_000_000);
						close(endpoint, connection);
					}
				}
			}
			catch (RuntimeException ex) {
				// a connection closed under our feet: the next sweep looks again
				logger.debug("Slow-header sweep: {}", ex.toString());
			}
		}
	}

	@SuppressWarnings({ "unchecked", "rawtypes" })
	private static void close(AbstractEndpoint endpoint, SocketWrapperBase connection) {
		endpoint.processSocket(connection, SocketEvent.ERROR, true);
	}

	/**
	 * A processor stays with a connection that no thread works on only while its request
	 * line or headers are incomplete (Tomcat's {@code SocketState.LONG}; we use no async
	 * requests or upgrades): while a request is served, a thread has taken it, and
	 * between requests it is recycled. Its start time is its first byte.
	 */
	private boolean tooSlow(SocketWrapperBase<?> connection, long now) {
		if (!(connection.getCurrentProcessor() instanceof AbstractProcessor processor) || processor.isAsync()
				|| processor.isUpgrade()) {
			return false;
		}
		Request request = processor.getRequest();
		long started = request.getStartTimeNanos();
		return started > 0 && now - started > this.deadlineNanos;
	}

	private double connections() {
		return this.protocols.stream().mapToLong((protocol) -> protocol.endpoint().getConnectionCount()).sum();
	}

	private double maxConnections() {
		return this.protocols.stream().mapToLong((protocol) -> protocol.endpoint().getMaxConnections()).sum();
	}

	@Override
	public void destroy() {
		this.sweeper.shutdownNow();
	}

	/**
	 * Tomcat's NIO HTTP/1.1 protocol, with its endpoint (and so its open connections)
	 * within reach.
	 */
	public static class Protocol extends Http11NioProtocol {

		AbstractEndpoint<?, ?> endpoint() {
			return getEndpoint();
		}

	}

}
