//! A small global allocator for wasm32 (replaces std's dlmalloc, which costs ~7 KB of wasm).
//!
//! Segregated free lists with power-of-two size classes over `memory.grow`:
//!
//! - A request of `size` bytes with alignment `align` gets a block of class `k`, the smallest
//!   power of two `2^k >= max(size, align, 8)`.
//! - **Invariant A (natural alignment):** every block of class `k` starts at an address that is
//!   a multiple of `2^k`. Hence any `align <= 2^k` is met, for fresh and reused blocks alike.
//! - **Invariant B (ownership):** a block is either handed out (owned by the caller until
//!   `dealloc`) or on exactly one free list (the list of its class), never both. A free block's
//!   first word (blocks are >= 8 bytes) holds the address of the next free block of that class,
//!   0 ending the list.
//! - **Invariant C (the bump region):** `[bump, end)` is untouched memory that we own, with
//!   `end` page aligned; no block overlaps it. New blocks are carved from its start; the bytes
//!   skipped to align a block are cut into naturally aligned power-of-two blocks and put on the
//!   free lists, so nothing is lost.
//!
//! Freed blocks go back to their class's list and are reused first, so a workload that repeats
//! (one probe after another) stops growing memory once each class has seen its peak. Blocks are
//! never split or merged; memory is never returned to the browser (wasm cannot shrink).
//!
//! Only for wasm32 without the `atomics` feature, i.e. a single thread: nothing here is ever
//! accessed concurrently, and an allocator is never re-entered (it allocates nothing itself).

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_grow;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const CLASSES: usize = usize::BITS as usize;
const MIN_CLASS: u32 = 3; // 8 bytes: room for the free-list link
const PAGE: usize = 65536;

struct State {
    /// Head of the free list of each class (0 = empty).
    free: [usize; CLASSES],
    /// The untouched region `[bump, end)` (invariant C); both 0 before the first grow.
    bump: usize,
    end: usize,
}

pub struct Heap(UnsafeCell<State>);

// SAFETY: wasm32 without atomics has exactly one thread, so the state is never shared across
// threads; the cfg on the `#[global_allocator]` below restricts this allocator to that target.
unsafe impl Sync for Heap {}

impl Heap {
    pub const fn new() -> Heap {
        Heap(UnsafeCell::new(State { free: [0; CLASSES], bump: 0, end: 0 }))
    }
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

/// The class of a layout, or `None` when no class is large enough.
fn class_of(layout: &Layout) -> Option<u32> {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    size.checked_next_power_of_two().map(usize::trailing_zeros)
}

impl State {
    /// Puts the free block `[p, p + 2^k)` on list `k`.
    ///
    /// SAFETY: the block is ours, unused, naturally aligned (invariant A) and on no list.
    unsafe fn push(&mut self, p: usize, k: u32) {
        if let Some(head) = self.free.get_mut(k as usize) {
            // SAFETY: p is a valid, 8-aligned block of at least 8 bytes that nobody else uses.
            unsafe { (p as *mut usize).write(*head) };
            *head = p;
        }
    }

    /// Cuts `[from, to)` (both multiples of 8) into naturally aligned power-of-two blocks on
    /// the free lists: each piece is the largest power of two that divides `from` and fits.
    ///
    /// SAFETY: the range is ours and unused.
    unsafe fn release_range(&mut self, mut from: usize, to: usize) {
        while from < to {
            let mut chunk = from & from.wrapping_neg();
            while chunk > to - from {
                chunk >>= 1;
            }
            if chunk < 1 << MIN_CLASS {
                return; // unreachable while both ends are multiples of 8
            }
            // SAFETY: [from, from + chunk) is ours, unused, and `from` is a multiple of `chunk`.
            unsafe { self.push(from, chunk.trailing_zeros()) };
            from += chunk;
        }
    }

    /// A fresh block of class `k` from the bump region, growing memory as needed.
    ///
    /// SAFETY: called only from the allocator (single thread, not re-entered).
    unsafe fn carve(&mut self, k: u32) -> *mut u8 {
        let size = 1usize << k;
        loop {
            let Some(start) = self.bump.checked_add(size - 1).map(|x| x & !(size - 1)) else {
                return null_mut();
            };
            let Some(stop) = start.checked_add(size) else { return null_mut() };
            if stop <= self.end {
                // SAFETY: [bump, start) is part of the untouched region (invariant C).
                unsafe { self.release_range(self.bump, start) };
                self.bump = stop;
                return start as *mut u8;
            }
            let pages = (stop - self.end).div_ceil(PAGE);
            let old = memory_grow(0, pages);
            if old == usize::MAX {
                return null_mut();
            }
            let old_end = old * PAGE;
            if old_end != self.end {
                // Not adjacent to our region (the first grow, or someone else grew memory):
                // keep the rest of the old region as free blocks and start over at the new one.
                // SAFETY: [bump, end) is untouched and ours (invariant C); `end` is page aligned.
                unsafe { self.release_range(self.bump, self.end) };
                self.bump = old_end;
            }
            self.end = old_end + pages * PAGE;
        }
    }
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(k) = class_of(&layout) else { return null_mut() };
        // SAFETY: single thread and no re-entry (module docs), so this is the only reference.
        let st = unsafe { &mut *self.0.get() };
        match st.free.get_mut(k as usize) {
            Some(head) if *head != 0 => {
                let p = *head;
                // SAFETY: p is on the list (invariant B), so its first word is the next link.
                *head = unsafe { (p as *const usize).read() };
                p as *mut u8
            }
            // SAFETY: see above.
            _ => unsafe { st.carve(k) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The caller passes the layout it allocated with, so this is the block's class.
        if let Some(k) = class_of(&layout) {
            // SAFETY: single thread and no re-entry; ptr is a block of class k that the caller
            // gives back (invariant B) and is aligned to 2^k (invariant A).
            unsafe { (*self.0.get()).push(ptr as usize, k) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else { return null_mut() };
        if class_of(&layout).is_some() && class_of(&layout) == class_of(&new_layout) {
            return ptr; // the block already has room
        }
        // SAFETY: the GlobalAlloc contract for the fresh block; we copy the smaller size.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
