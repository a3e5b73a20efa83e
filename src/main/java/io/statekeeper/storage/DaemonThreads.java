package io.statekeeper.storage;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.springframework.scheduling.concurrent.CustomizableThreadFactory;

/**
 * The service's own background threads (hashing, validation, pruning, fsyncs, recovery,
 * the audit flush): named for profiles and thread dumps, and daemons, so none of them
 * keeps the JVM alive after shutdown.
 */
public final class DaemonThreads {

	private DaemonThreads() {
	}

	/**
	 * Threads named {@code name-1}, {@code name-2} …, all daemons.
	 * @param name what the threads do
	 * @return the factory
	 */
	public static ThreadFactory named(String name) {
		CustomizableThreadFactory factory = new CustomizableThreadFactory(name + "-");
		factory.setDaemon(true);
		return factory;
	}

	/**
	 * A pool of at most {@code threads}, queueing the rest; idle threads end after 30 s.
	 * @param name what the threads do
	 * @param threads how many run at once
	 * @return the pool
	 */
	public static ExecutorService pool(String name, int threads) {
		ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
				new LinkedBlockingQueue<>(), named(name));
		pool.allowCoreThreadTimeOut(true);
		return pool;
	}

}
