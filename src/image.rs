//! One input of a network, and a set of them with labels: the values every source (MNIST,
//! IDX or `.npy` files, random stimulus) gives and every consumer (the reference, the float
//! model, the driver, the reports) takes.

/// One image: the network's input values in (channel, row, column) order, each within the
/// description's `[input]` width.
pub type Image = Box<[i32]>;

/// Images and their labels, same length.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub images: Vec<Image>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// An input value of any integer type the harness reads (MNIST's bytes, a file's elements,
/// an [`Image`]'s `i32`).
pub trait Pixel: Copy {
    fn value(self) -> i64;
}

macro_rules! pixel {
    ($($t:ty),*) => {$(
        impl Pixel for $t {
            #[inline(always)]
            fn value(self) -> i64 {
                self as i64
            }
        }
    )*};
}
pixel!(u8, i8, u16, i16, i32, i64);
