package io.statekeeper.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The storage seam with one fsync held: once {@link #arm() armed}, the next file fsync
 * waits until {@link #release} is counted down, so a test can act while a write is in
 * flight.
 */
public class HeldFsyncIo extends StorageIo {

	public final CountDownLatch entered = new CountDownLatch(1);

	public final CountDownLatch release = new CountDownLatch(1);

	private final AtomicBoolean armed = new AtomicBoolean();

	public void arm() {
		this.armed.set(true);
	}

	@Override
	public void force(FileChannel channel) throws IOException {
		if (this.armed.getAndSet(false)) {
			this.entered.countDown();
			try {
				this.release.await(1, TimeUnit.MINUTES);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		super.force(channel);
	}

}
