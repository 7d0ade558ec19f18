// SPDX-License-Identifier: MIT
// The C++ standard containers under the preload (tests/programs/run.sh):
// new and delete reach kmem through libstdc++'s operator new, which calls
// malloc; over-aligned types go through aligned_alloc. Deterministic output.
#include <cstdint>
#include <deque>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct alignas(256) Wide {
	std::uint64_t v[4];
};

int main()
{
	std::map<std::string, std::vector<int>> groups;
	std::unordered_map<int, std::string> names;
	std::set<std::string> seen;
	std::list<std::unique_ptr<Wide>> wides;
	std::deque<std::string> queue;
	std::uint64_t sum = 0;

	for (int i = 0; i < 200000; i++) {
		std::string key = "k" + std::to_string((i * 7919) % 5003);
		groups[key].push_back(i);
		names[i % 20011] = key + std::string(i % 50, 'x');
		seen.insert(key);
		queue.push_back(key);
		if (queue.size() > 1000)
			queue.pop_front();
	}
	for (int i = 0; i < 5000; i++) {
		auto w = std::make_unique<Wide>();
		if (reinterpret_cast<std::uintptr_t>(w.get()) % alignof(Wide)) {
			std::cerr << "misaligned Wide\n";
			return 1;
		}
		w->v[0] = i;
		wides.push_back(std::move(w));
	}
	for (auto &w : wides)
		sum += w->v[0];

	std::mutex lock;
	std::vector<std::thread> threads;
	std::map<int, std::size_t> per_thread;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([t, &lock, &per_thread] {
			std::vector<std::string> v;
			for (int i = 0; i < 50000; i++)
				v.push_back(std::string(i % 200, char('a' + t)));
			std::size_t total = 0;
			for (auto &s : v)
				total += s.size();
			std::lock_guard<std::mutex> g(lock);
			per_thread[t] = total;
		});
	for (auto &th : threads)
		th.join();

	std::cout << "groups " << groups.size() << " first " << groups.begin()->first << " "
		  << groups.begin()->second.size() << "\n";
	std::cout << "names " << names.size() << " " << names[17] << "\n";
	std::cout << "seen " << seen.size() << " queue " << queue.size() << " " << queue.front()
		  << "\n";
	std::cout << "wides " << wides.size() << " sum " << sum << "\n";
	for (auto &kv : per_thread)
		std::cout << "thread " << kv.first << " " << kv.second << "\n";
	return 0;
}
