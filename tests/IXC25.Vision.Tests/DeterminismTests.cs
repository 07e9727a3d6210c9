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

/// <summary>The crop split of build_mlp.py: reshape(1, 3, h, 560, w, 560).permute(0, 2, 4, 1, 3, 5).</summary>
public class CropSplitTests
{
    [Fact]
    public void VitBatchIsTheGlobalViewThenTheCropsRowMajor()
    {
        var r = ImageTransform.HdTransform(TestImages.Random(1500, 700, 3), 6); // 1680x1120: grid 2 rows x 3 columns
        Assert.Equal((2, 3), (r.Plan.GridRows, r.Plan.GridCols));
        var batch = r.VitBatch();
        const int S = 560, N = 3 * S * S;
        Assert.Equal(7 * N, batch.Length);
        Assert.True(batch.AsSpan(0, N).SequenceEqual(r.GlobalView));
        for (int k = 0; k < 6; k++)
        {
            int row = k / 3, col = k % 3;
            var crop = batch.AsSpan((1 + k) * N, N);
            Assert.True(crop.SequenceEqual(r.Crop(row, col)));
            // element (ch, y, x) of crop k is pixel_values[ch, 560 row + y, 560 col + x]
            foreach (var (ch, y, x) in new[] { (0, 0, 0), (1, 17, 559), (2, 559, 3), (2, 559, 559) })
                Assert.Equal(r.PixelValues[(long)ch * r.Width * r.Height + (long)(S * row + y) * r.Width + S * col + x], crop[(ch * S + y) * S + x]);
        }
    }
}
