package io.statekeeper.state;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

class BodyMemoryTests {

	private static final int KIB = 1024;

	@Test
	void aReservationGrowsWithItsBodyAndIsGivenBackWhole() {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofMillis(50));
		BodyMemory.Reservation reservation = memory.open();
		reservation.cover(10 * KIB);
		reservation.cover(4 * KIB);
		assertThat(memory.reserved()).isEqualTo(10 * KIB);
		reservation.cover(30 * KIB + 1);
		assertThat(memory.reserved()).isEqualTo(31 * KIB);

		reservation.close();
		assertThat(memory.reserved()).isZero();
		reservation.close();
		assertThat(memory.reserved()).isZero();
	}

	@Test
	void aBodyThatFindsNoRoomWithinTheWaitIsRefusedAndHoldsNothing() {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofMillis(50));
		memory.open().cover(60 * KIB);
		BodyMemory.Reservation refused = memory.open();
		refused.cover(10 * KIB);

		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> refused.cover(40 * KIB))
			.satisfies((ex) -> {
				assertThat(ex.getProblem()).isEqualTo(StateProblem.OVERLOADED);
				assertThat(ex.getMessage()).contains("max-body-memory", "hold 71680 of the 98304 bytes", "needs 40960");
			});
		assertThat(memory.reserved()).isEqualTo(70 * KIB);
		refused.close();
		assertThat(memory.reserved()).isEqualTo(60 * KIB);
	}

	@Test
	void aWaitingBodyGetsInOnceAnotherIsGivenBack() throws InterruptedException {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofSeconds(30));
		BodyMemory.Reservation first = memory.open();
		first.cover(60 * KIB);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		Thread second = new Thread(() -> {
			try {
				memory.open().cover(60 * KIB);
			}
			catch (Throwable ex) {
				failure.set(ex);
			}
		});
		second.start();
		await().atMost(Duration.ofSeconds(10)).until(() -> second.getState() == Thread.State.TIMED_WAITING);
		assertThat(memory.reserved()).isEqualTo(60 * KIB);

		first.close();
		second.join(Duration.ofSeconds(10).toMillis());
		assertThat(second.isAlive()).isFalse();
		assertThat(failure.get()).isNull();
		assertThat(memory.reserved()).isEqualTo(60 * KIB);
	}

	@Test
	void aSmallBodyIsNotQueuedBehindALargeOneWaitingForRoom() throws Exception {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofSeconds(30));
		BodyMemory.Reservation first = memory.open();
		first.cover(60 * KIB);
		Thread large = new Thread(() -> memory.open().cover(60 * KIB));
		large.start();
		await().atMost(Duration.ofSeconds(10)).until(() -> large.getState() == Thread.State.TIMED_WAITING);

		// a fair semaphore would keep this one waiting behind the large one for 30 s
		CompletableFuture.runAsync(() -> memory.open().cover(KIB)).get(10, TimeUnit.SECONDS);
		assertThat(memory.reserved()).isEqualTo(61 * KIB);

		first.close();
		large.join(Duration.ofSeconds(10).toMillis());
		assertThat(large.isAlive()).isFalse();
		assertThat(memory.reserved()).isEqualTo(61 * KIB);
	}

	@Test
	void theDefaultIsAQuarterOfTheHeapAndAtLeastOneLargestBody() {
		long heap = Runtime.getRuntime().maxMemory();
		assertThat(BodyMemory.defaultLimit(1)).isEqualTo(heap / 4);
		assertThat(BodyMemory.defaultLimit(heap)).isEqualTo(heap);
	}

}
