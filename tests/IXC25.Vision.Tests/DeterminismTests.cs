using IXC25.Vision.Transforms;

namespace IXC25.Vision.Tests;

/// <summary>Results never depend on the number of threads.</summary>
public class DeterminismTests
{
    [Theory]
    [InlineData("vision/media/jpeg_4000x3000.jpg", 24)]
    [InlineData("media/dubai.png", 55)]
    [InlineData("vision/media/size_200x6000.png", 6)]
    public void HdTransformIsIdenticalForEveryThreadCount(string image, int hdNum)
    {
        var img = VisionGoldens.Image(image);
        var one = ImageTransform.HdTransform(img, hdNum, new TransformOptions(MaxThreads: 1));
        foreach (int threads in new[] { 2, 3, 7, -1 })
        {
            var r = ImageTransform.HdTransform(img, hdNum, new TransformOptions(threads));
            Assert.True(one.HdImage.Pixels.AsSpan().SequenceEqual(r.HdImage.Pixels), $"hd_image differs with {threads} threads");
            Assert.True(one.PixelValues.AsSpan().SequenceEqual(r.PixelValues), $"pixel_values differ with {threads} threads");
            Assert.True(one.GlobalView.AsSpan().SequenceEqual(r.GlobalView), $"global_view differs with {threads} threads");
        }
    }
}

/// <summary>Runs alone: other tests' transforms would otherwise be free to take the returned buffers.</summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public class SerialCollection;

/// <summary>Disposed results hand their buffers to later transforms: those must overwrite every element.</summary>
[Collection(nameof(SerialCollection))]
public class BufferReuseTests
{
    [Fact]
    public void ReusedBuffersGiveTheSameResultsAsFreshOnes()
    {
        var a = TestImages.Random(1300, 900, 1);
        var b = TestImages.Constant(1300, 900, 10, 200, 30);
        var fresh = ImageTransform.HdTransform(b, 24);
        for (int i = 0; i < 3; i++)
        {
            var first = ImageTransform.HdTransform(a, 24);
            var pv = first.PixelValues;
            first.Dispose();
            using var again = ImageTransform.HdTransform(b, 24);
            Assert.Same(pv, again.PixelValues); // the buffer was reused ...
            Assert.True(fresh.HdImage.Pixels.AsSpan().SequenceEqual(again.HdImage.Pixels)); // ... and fully overwritten
            Assert.True(fresh.PixelValues.AsSpan().SequenceEqual(again.PixelValues));
            Assert.True(fresh.GlobalView.AsSpan().SequenceEqual(again.GlobalView));
        }
    }
}
