// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/watcher.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

namespace connlimit::core::ct {

namespace {

// Events applied per lock hold: Counts() on the JS thread never waits long behind a flood.
constexpr size_t kEventsPerLock = 256;

// A namespace whose name was deleted (or given to a new namespace) sends no event: the thread
// looks at the path this often (one stat) and ends the watch with "netns gone".
constexpr auto kNetnsCheckEvery = std::chrono::seconds(1);

// How long poll() may wait before the next look at the netns path is `due` (-1, forever, in
// the caller's own namespace); looks first when it is due. An error when the path no longer
// names the watch's namespace.
Result<int> LookAtNetns(const std::shared_ptr<NetnsFd>& netns, std::chrono::steady_clock::time_point& due) {
  if (!netns) return -1;
  auto now = std::chrono::steady_clock::now();
  if (now >= due) {
    auto named = CheckNetnsPath(netns);
    if (!named.ok()) return named.error();
    due = now + kNetnsCheckEvery;
  }
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(due - now).count());
}

void Signal(int fd) {
  uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, i.e. it is already signalled.
  [[maybe_unused]] ssize_t n = write(fd, &one, sizeof(one));
}

void Clear(int fd) {
  uint64_t value;
  [[maybe_unused]] ssize_t n = read(fd, &value, sizeof(value));
}

}  // namespace

Watcher::Watcher(WatcherOptions options, Deliver deliver, Fail fail)
    : options_(std::move(options)), deliver_(std::move(deliver)), fail_(std::move(fail)), state_(options_.config) {}

Watcher::~Watcher() { Stop(); }

Result<Unit> Watcher::Start() {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0 || wake_fd_ < 0) return KernelError{"ct watch", errno, {}};
  thread_ = std::thread([this] { Run(); });
  return Unit{};
}

void Watcher::Acknowledge() {
  in_flight_ = false;
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (wake_fd_ >= 0) Signal(wake_fd_);
}

void Watcher::Stop() {
  if (stopped_.exchange(true)) return;
  if (stop_fd_ >= 0) Signal(stop_fd_);
  if (thread_.joinable()) thread_.join();
  // Deterministic: close() frees every fd now, not when the JS object is collected.
  events_.reset();
  dumps_.reset();
  sysctl_.reset();
  netns_.reset();
  std::lock_guard<std::mutex> lock(fd_mu_);
  for (int* fd : {&stop_fd_, &wake_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

std::vector<KeyCount> Watcher::Counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.Counts();
}

uint64_t Watcher::CountsVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.version();
}

uint64_t Watcher::CountOf(uint8_t family, const Addr& addr) const {
  WatchKey key{family, MaskAddr(addr, options_.config.PrefixFor(family))};
  std::lock_guard<std::mutex> lock(mu_);
  return state_.CountOf(key);
}

WatcherStats Watcher::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  WatcherStats s = stats_;
  s.unconfirmed = state_.unconfirmed();
  return s;
}

Result<Unit> Watcher::Open() {
  auto opened = OpenNetns(options_.netns_path);
  if (!opened.ok()) return opened.error();
  netns_ = opened.take();
  // Subscribe before the dump: an event that races the dump is then queued, not lost.
  auto events = EventSocket::Open(netns_, options_.updates, options_.receive_buffer);
  if (!events.ok()) return events.error();
  events_ = std::move(events.value());
  auto dumps = CtSocket::Open(netns_);
  if (!dumps.ok()) return dumps.error();
  dumps_ = std::move(dumps.value());
  auto sysctl = EventsSysctl::Open(netns_);
  if (!sysctl.ok()) return sysctl.error();
  sysctl_ = std::move(sysctl.value());
  std::lock_guard<std::mutex> lock(mu_);
  stats_.receive_buffer = events_->receive_buffer();
  stats_.polling = sysctl_->Read() <= 0;
  return Unit{};
}

Result<Unit> Watcher::Sync(SyncKind kind) {
  // Built without the lock: counts() keeps answering from the previous state meanwhile.
  DumpTally tally(options_.config);
  auto dumped = dumps_->Dump(
      options_.config.filter, [&](const Entry& e) { tally.Add(e); }, [&] { tally.Clear(); });
  if (!dumped.ok()) return dumped.error();
  std::lock_guard<std::mutex> lock(mu_);
  state_.Merge(std::move(tally), kind);
  if (kind == SyncKind::kResync) stats_.resyncs++;
  if (kind == SyncKind::kReconcile) {
    stats_.reconciles++;
    stats_.reconcile_entries += dumped.value().messages;
    stats_.reconcile_bytes += dumped.value().bytes;
  }
  return Unit{};
}

Result<Unit> Watcher::MaybeReconcile() {
  bool polling = sysctl_->Read() <= 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.polling = polling;
    if (!polling && state_.unconfirmed() == 0) return Unit{};
  }
  // Apply what is queued first: the dump is newer than those events, and events read after
  // it are applied on top (WatchState::Merge says why that order is exact).
  auto drained = Drain();
  if (!drained.ok()) return drained;
  auto synced = Sync(SyncKind::kReconcile);
  if (!synced.ok()) return synced;
  MaybeDeliver();
  return Unit{};
}

Result<Unit> Watcher::Drain() {
  for (;;) {
    EventRead r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto read = events_->Read(kEventsPerLock, [&](const Entry& e, EntryKind kind) { state_.Apply(e, kind); });
      if (!read.ok()) return read.error();
      r = read.value();
      stats_.events += r.messages;
      state_.NoteEvents(r.messages);
      if (r.overrun) {
        stats_.overruns++;
        state_.NoteOverrun();
      }
    }
    if (r.overrun) {
      // Whatever is still queued predates the dump we are about to take: drop it, then
      // rebuild. Events after this point queue up and are applied on top of the dump.
      auto dropped = events_->Discard();
      if (!dropped.ok()) return dropped.error();
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.discarded += dropped.value();
      }
      auto synced = Sync(SyncKind::kResync);
      if (!synced.ok()) return synced.error();
      MaybeDeliver();
      continue;
    }
    MaybeDeliver();
    if (r.empty || r.messages < kEventsPerLock) return Unit{};
  }
}

void Watcher::MaybeDeliver() {
  if (in_flight_) return;
  WatchBatch batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!state_.HasPending()) return;
    batch = state_.Take();
  }
  in_flight_ = true;
  if (!deliver_(std::move(batch))) Signal(stop_fd_);
}

void Watcher::Run() {
  pthread_setname_np(pthread_self(), "connlimit-ct");
  auto end = [this](const KernelError& e) {
    if (!stopped_) fail_(e);
  };
  auto opened = Open();
  if (!opened.ok()) return end(opened.error());
  auto synced = Sync(SyncKind::kInitial);
  if (!synced.ok()) return end(synced.error());
  MaybeDeliver();
  if (options_.test_stall_ms > 0) {
    pollfd stop{stop_fd_, POLLIN, 0};
    if (poll(&stop, 1, options_.test_stall_ms) > 0) return;
  }

  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options_.reconcile_ms);
  auto next_check = Clock::now() + interval;
  pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {events_->fd(), POLLIN, 0}};
  auto netns_due = std::chrono::steady_clock::now() + kNetnsCheckEvery;
  for (;;) {
    auto netns_wait = LookAtNetns(netns_, netns_due);
    if (!netns_wait.ok()) return end(netns_wait.error());
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_check - Clock::now()).count();
    if (wait < 0) wait = 0;
    if (netns_wait.value() >= 0 && netns_wait.value() < wait) wait = netns_wait.value();
    if (poll(fds, 3, static_cast<int>(wait)) < 0) {
      if (errno == EINTR) continue;
      return end(KernelError{"ct watch", errno, {}});
    }
    if (fds[0].revents) return;
    if (Clock::now() >= next_check) {
      auto checked = MaybeReconcile();
      if (!checked.ok()) return end(checked.error());
      next_check = Clock::now() + interval;
      continue;
    }
    if (fds[1].revents) {
      Clear(wake_fd_);
      MaybeDeliver();
    }
    if (fds[2].revents) {
      auto drained = Drain();
      if (!drained.ok()) return end(drained.error());
    }
  }
}

}  // namespace connlimit::core::ct
